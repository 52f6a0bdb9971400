// Package format finds the line of each key in the configuration files
// the config package reads itself, JSON and .env, so its messages can
// point into the file. It owns no parsing and no key mapping: the config
// package parses, and the yaml, toml and ini packages place their own
// keys.
package format
