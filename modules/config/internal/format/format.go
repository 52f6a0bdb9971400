package format

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/knadh/koanf/parsers/dotenv"
	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/v2"
)

// Format is one file format.
type Format struct {
	// Name is the format's name in messages, such as "YAML".
	Name string
	// Parser turns the file's bytes into a nested map.
	Parser koanf.Parser
	// Lines maps each key of the file, lower-cased and joined by dots, to
	// the line it is on. It leaves out keys it cannot place; a key it
	// leaves out is reported with the file name alone.
	Lines func(b []byte) map[string]int
}

// Extensions lists the extensions For knows, for messages.
const Extensions = ".yaml, .yml, .json, .toml or .ini"

// For returns the format of the file at path, by its extension.
func For(path string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		return Format{Name: "YAML", Parser: yaml.Parser(), Lines: YAMLLines}, nil
	case ".json":
		return Format{Name: "JSON", Parser: json.Parser(), Lines: JSONLines}, nil
	case ".toml":
		return Format{Name: "TOML", Parser: toml.Parser(), Lines: TOMLLines}, nil
	case ".ini":
		return Format{Name: "INI", Parser: INI{}, Lines: INILines}, nil
	default:
		return Format{}, fmt.Errorf("unknown format %q: want %s", ext, Extensions)
	}
}

// DotEnv is the format of .env files: NAME=value lines. Its keys are
// variable names, mapped to configuration keys by the caller.
func DotEnv() Format {
	return Format{Name: ".env", Parser: dotenv.Parser(), Lines: DotEnvLines}
}
