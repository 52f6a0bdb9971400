package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/joho/godotenv"

	"github.com/hostfx/hostfx/modules/config/internal/format"
)

// A Format reads one kind of configuration file. JSON is built in; the
// packages yaml, toml and ini below this one return the others, so a
// program links only the parsers it asks for. Pass them to New with
// Formats.
type Format struct {
	// Name is the format's name in messages, such as "YAML".
	Name string
	// Extensions are the file extensions the format reads, such as
	// ".yaml"; a file's extension matches them whatever its case.
	Extensions []string
	// Parse turns a file's contents into a map of keys, each section a map
	// of its own: {"server": {"port": 8080}}, not {"server.port": 8080}.
	// New lower-cases the keys.
	Parse func(data []byte) (map[string]any, error)
	// Lines, if set, maps each key of a file, lower-cased and joined by
	// dots, to the line it is on, so messages can point into the file. A
	// key it leaves out is reported with the file's name alone.
	Lines func(data []byte) map[string]int
}

// Formats lets File and ProfileFile read files of these formats, chosen by
// their extension; a format given later wins an extension over one given
// before it, the built-in JSON included.
//
//	config.New(
//		config.Formats(yaml.Format()),
//		config.File("config.yaml"),
//	)
func Formats(formats ...Format) Option { return formatsOption(formats) }

type formatsOption []Format

func (o formatsOption) apply(b *builder) {
	for _, f := range o {
		if f.Name == "" || f.Parse == nil || len(f.Extensions) == 0 {
			b.problems.add(&Problem{Source: o.String(), Reason: fmt.Sprintf("format %q: want a Name, Extensions and Parse", f.Name)})
			continue
		}
		b.formats = append(b.formats, f)
	}
}

func (o formatsOption) String() string {
	names := make([]string, len(o))
	for i, f := range o {
		names[i] = f.Name
	}
	return "config.Formats(" + strings.Join(names, ", ") + ")"
}

// jsonFormat is the built-in format.
var jsonFormat = Format{
	Name:       "JSON",
	Extensions: []string{".json"},
	Parse: func(data []byte) (map[string]any, error) {
		var m map[string]any
		err := json.Unmarshal(data, &m)
		return m, err
	},
	Lines: format.JSONLines,
}

// formatPackages names the package that reads an extension New does not
// know, for the hint in the message.
var formatPackages = map[string]string{".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".ini": "ini"}

// formatFor picks the format of the file at path by its extension.
func (b *builder) formatFor(path string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	formats := append([]Format{jsonFormat}, b.formats...)
	for _, f := range slices.Backward(formats) {
		if slices.ContainsFunc(f.Extensions, func(e string) bool { return strings.EqualFold(e, ext) }) {
			return f, nil
		}
	}
	if pkg, ok := formatPackages[ext]; ok {
		return Format{}, fmt.Errorf("no format reads %q files: pass config.Formats(%s.Format()), with package %s from github.com/hostfx/hostfx/modules/config/%s", ext, pkg, pkg, pkg)
	}
	var exts []string
	for _, f := range formats {
		exts = append(exts, f.Extensions...)
	}
	return Format{}, fmt.Errorf("unknown format %q: want %s, or a format of your own given with config.Formats", ext, orList(exts))
}

// orList writes "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// dotEnvFormat reads .env files for DotEnv: NAME=value lines, whose
// names the caller maps to keys.
var dotEnvFormat = Format{
	Name:       ".env",
	Extensions: []string{".env"},
	Parse: func(data []byte) (map[string]any, error) {
		vars, err := godotenv.UnmarshalBytes(data)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(vars))
		for k, v := range vars {
			m[k] = v
		}
		return m, nil
	},
	Lines: format.DotEnvLines,
}
