// Package toml reads TOML configuration files, .toml, for the config
// package, with github.com/pelletier/go-toml/v2, whose parser also says
// the line of each key. Only programs that pass its Format to
// config.Formats link a TOML parser.
package toml
