// Package config loads a hostfx application's configuration from layered
// sources, binds sections of it to Go structs, and says where every value
// came from.
//
// # Sources
//
// [New] reads the sources in the order they are given, each overriding
// the ones before it: [Defaults] from a Go value, [File], [ProfileFile]
// for the chosen [Profile], [DotEnv], [Env] and command-line [Flags] or
// [Args]. Files are required unless wrapped in [Optional]. Keys are
// case-insensitive and written in lower case, sections separated by dots:
// server.port. In variable names a double underscore separates sections,
// so APP_SERVER__PORT with prefix "APP_" is server.port.
//
// # Formats
//
// A file's extension picks its format. JSON is built in; the packages
// yaml, toml and ini below this one read YAML, TOML and INI files when
// their Format is given to [Formats], and a [Format] of your own reads
// anything else. A program links only the parsers it asks for.
//
// # Binding
//
// [Bind] decodes a section into a struct, and [Provide] does the same
// into the fx graph. A field's key is its `config:"name"` tag or its name
// in snake_case. Strings from the environment, INI files and flags
// convert to numbers, bools, durations, [Size], lists (comma-separated),
// maps (k=v pairs) and any encoding.TextUnmarshaler, so a
// modes.ExecutionMode field takes "SEPARATE_THREAD" or "separate-thread".
// Keys that no source sets take the field's `default:"..."` tag.
//
// # Validation
//
// After binding, `validate:"..."` tags are checked. The common rules are
// built in: required, omitempty, min, max, len, gt, gte, lt, lte and
// oneof, meaning what they mean to go-playground/validator. For all of
// that validator's rules, give [Validation] the Validator of the package
// validate below this one, which links it; until then a tag with another
// rule is reported as an error. Keys that no field takes are errors, with
// a "did you mean" hint, unless [AllowUnknownKeys] is given. Every problem
// names the key, the bad value, its source (file and line, variable or
// flag) and what was wanted, and all of them are reported together in an
// [*Error] whose Problems can be read with errors.As.
//
// # Services
//
// The services.<name> sections hold per-service settings, checked by New
// and returned by [Config.Service] with the source of each.
//
// # Log level
//
// The log.level key (debug, info, warn, error, dpanic, panic or fatal)
// sets the level of the app's logger when the configuration is given to
// the app with [Module] or [Supply]; it overrides app.LogLevel. New
// checks it, and [Config.LogLevel] returns it.
//
// # Secrets
//
// A variable NAME_FILE sets the key of NAME to the contents of the file
// it names, less a trailing newline. Such values, and fields tagged
// `secret:"true"`, are redacted wherever the configuration is shown:
// [Config.Print], [Config.Entries], log fields and error messages.
//
// # Printing
//
// [Config.Print] writes every key with its value and source. With
// [PrintConfigFlag], --print-config prints the configuration, and
// [ErrPrinted] ends the program: App.Run starts nothing and returns.
package config
