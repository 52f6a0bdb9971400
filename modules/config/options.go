package config

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
)

// An Option configures New. Sources (Defaults, File, ProfileFile, DotEnv,
// Env, Flags, Args) are layered in the order given, each overriding the
// ones before it. Settings (Formats, Validation, Profile, ProfileFromEnv,
// Dir, EnvSeparator, AllowUnknownKeys, PrintConfigFlag) apply wherever they
// appear.
type Option interface {
	fmt.Stringer
	apply(*builder)
}

// A FileSource is an Option that reads a file: File, ProfileFile or
// DotEnv. Files are required unless wrapped in Optional.
type FileSource interface {
	Option
	file() fileSpec
}

// fileSpec describes a file to read.
type fileSpec struct {
	path     string // for a profiled file, the template
	profiled bool   // path holds "{profile}"
	dotenv   bool
	prefix   string // the variable prefix of a .env file
	optional bool
}

// Defaults is the lowest layer, usually given first: the value's fields
// that are not zero, over the `default:"..."` tags of its type, placed at
// path ("" for the root). value is a struct or a pointer to one. Its type
// also tells Print which keys are secret and which defaults to show.
func Defaults(path string, value any) Option { return defaultsOption{path: path, value: value} }

type defaultsOption struct {
	path  string
	value any
}

func (o defaultsOption) String() string {
	return fmt.Sprintf("config.Defaults(%q, %v)", o.path, reflect.TypeOf(o.value))
}

// File reads a configuration file in the format its extension names:
// .json is built in, and Formats adds others, such as YAML. The file must
// exist unless wrapped in Optional.
func File(path string) FileSource { return fileOption(path) }

type fileOption string

func (o fileOption) file() fileSpec   { return fileSpec{path: string(o)} }
func (o fileOption) apply(b *builder) { o.file().apply(b) }
func (o fileOption) String() string   { return fmt.Sprintf("config.File(%q)", string(o)) }

// ProfileFile reads the file named by template with "{profile}" replaced
// by the profile (see Profile and ProfileFromEnv), such as
// "config.{profile}.yaml". Without a profile it reads nothing.
func ProfileFile(template string) FileSource { return profileFileOption(template) }

type profileFileOption string

func (o profileFileOption) file() fileSpec {
	return fileSpec{path: string(o), profiled: true}
}
func (o profileFileOption) apply(b *builder) { o.file().apply(b) }
func (o profileFileOption) String() string {
	return fmt.Sprintf("config.ProfileFile(%q)", string(o))
}

// DotEnv reads a .env file of NAME=value lines. Its variables are mapped
// to keys as Env(prefix) maps the environment; those without the prefix
// are ignored. It is a layer of its own: put it before Env so the real
// environment wins.
func DotEnv(path, prefix string) FileSource { return dotEnvOption{path: path, prefix: prefix} }

type dotEnvOption struct{ path, prefix string }

func (o dotEnvOption) file() fileSpec {
	return fileSpec{path: o.path, dotenv: true, prefix: envPrefix(o.prefix)}
}
func (o dotEnvOption) apply(b *builder) { o.file().apply(b) }
func (o dotEnvOption) String() string {
	return fmt.Sprintf("config.DotEnv(%q, %q)", o.path, o.prefix)
}

// Optional lets the file be absent. A file that exists but cannot be
// read or parsed is still an error.
func Optional(f FileSource) Option { return optionalOption{f} }

type optionalOption struct{ f FileSource }

func (o optionalOption) apply(b *builder) {
	if o.f == nil {
		b.problems.add(&Problem{Source: o.String(), Reason: "want a file source, such as config.File(path)"})
		return
	}
	spec := o.f.file()
	spec.optional = true
	spec.apply(b)
}

func (o optionalOption) String() string { return fmt.Sprintf("config.Optional(%v)", o.f) }

// Env reads environment variables that start with prefix: with prefix
// "APP_", APP_SERVER__PORT sets server.port (see EnvKey). A prefix without
// a trailing "_" gets one. A variable NAME_FILE sets the key of NAME to
// the contents of the file it names, for secrets mounted as files.
func Env(prefix string) Option { return envOption(prefix) }

type envOption string

func (o envOption) String() string { return fmt.Sprintf("config.Env(%q)", string(o)) }

func envPrefix(p string) string {
	if p != "" && !strings.HasSuffix(p, "_") {
		return p + "_"
	}
	return p
}

// Flags reads the flags set on the command line of fs, which must be
// parsed: flag -server.port=8080 sets server.port. Flags left at their
// default do not override other sources.
func Flags(fs *flag.FlagSet) Option { return flagsOption{fs} }

type flagsOption struct{ fs *flag.FlagSet }

func (o flagsOption) String() string {
	if o.fs == nil {
		return "config.Flags(nil)"
	}
	return fmt.Sprintf("config.Flags(%q)", o.fs.Name())
}

// Args reads command-line arguments without declaring flags: --key=value
// or --key value sets key, and a bare --key followed by another flag or
// nothing sets it to "true". One or two dashes both work; "--" ends the
// flags, and any other argument is an error.
func Args(args []string) Option { return argsOption(args) }

type argsOption []string

func (o argsOption) String() string { return fmt.Sprintf("config.Args(%q)", []string(o)) }

// Profile picks the profile, such as "development", that ProfileFile
// reads. ProfileFromEnv overrides it when its variable is set.
func Profile(name string) Option { return profileOption(name) }

type profileOption string

func (o profileOption) apply(b *builder) { b.profile = string(o) }
func (o profileOption) String() string   { return fmt.Sprintf("config.Profile(%q)", string(o)) }

// ProfileFromEnv takes the profile from the environment variable, when it
// is set and not empty. Env never reads that variable as a key.
func ProfileFromEnv(variable string) Option { return profileEnvOption(variable) }

type profileEnvOption string

func (o profileEnvOption) apply(b *builder) { b.profileEnv = string(o) }
func (o profileEnvOption) String() string {
	return fmt.Sprintf("config.ProfileFromEnv(%q)", string(o))
}

// Dir is the directory that relative file paths are read from; the
// default is the working directory.
func Dir(path string) Option { return dirOption(path) }

type dirOption string

func (o dirOption) apply(b *builder) { b.dir = string(o) }
func (o dirOption) String() string   { return fmt.Sprintf("config.Dir(%q)", string(o)) }

// EnvSeparator sets the separator between sections in variable names, for
// Env and DotEnv. The default is "__": APP_SERVER__PORT is server.port,
// and a single "_" stays part of a key.
func EnvSeparator(sep string) Option { return envSeparatorOption(sep) }

type envSeparatorOption string

func (o envSeparatorOption) apply(b *builder) {
	if !validEnvName(string(o)) {
		b.problems.add(&Problem{Source: o.String(), Reason: "want letters, digits or underscores, such as \"__\""})
		return
	}
	b.sep = string(o)
}

func (o envSeparatorOption) String() string {
	return fmt.Sprintf("config.EnvSeparator(%q)", string(o))
}

// AllowUnknownKeys turns off typo protection: keys that nothing binds are
// ignored instead of reported.
func AllowUnknownKeys() Option { return allowUnknownOption{} }

type allowUnknownOption struct{}

func (allowUnknownOption) apply(b *builder) { b.allowUnknown = true }
func (allowUnknownOption) String() string   { return "config.AllowUnknownKeys()" }

// PrintFlag is the flag that PrintConfigFlag recognizes.
const PrintFlag = "print-config"

// PrintConfigFlag makes --print-config on the command line (through Args
// or Flags) a request to print the effective configuration and exit 0,
// rather than a key. Module and Supply honour it once the bindings are
// checked; without fx, call HandlePrintFlag.
func PrintConfigFlag() Option { return printFlagOption{} }

type printFlagOption struct{}

func (printFlagOption) apply(b *builder) { b.printFlag = true }
func (printFlagOption) String() string   { return "config.PrintConfigFlag()" }
