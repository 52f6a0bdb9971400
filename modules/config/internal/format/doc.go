// Package format picks the parser of a configuration file by its extension
// and finds the line of each key, so errors can point into the file.
//
// It owns the file formats: which koanf parser reads which extension, the
// INI parser, and where each key sits in a file's bytes. It must not read
// files, merge layers, bind values or know of services: package config
// above it owns those.
package format
