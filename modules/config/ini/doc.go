// Package ini reads INI configuration files, .ini, for the config package,
// with gopkg.in/ini.v1. Keys of the unnamed section are top-level keys; a
// section [a.b] holds the keys under a.b. Every value is a string, which
// binding converts. Only programs that pass its Format to config.Formats
// link an INI parser.
package ini
