package format

import (
	"errors"
	"strings"

	"gopkg.in/ini.v1"
)

// INI is a koanf.Parser for INI files, over gopkg.in/ini.v1. Keys of the
// unnamed section are top-level keys; a section [a.b] holds the keys under
// a.b. Every value is a string; binding converts it.
type INI struct{}

// Unmarshal parses INI bytes into a nested map.
func (INI) Unmarshal(b []byte) (map[string]any, error) {
	f, err := ini.LoadSources(ini.LoadOptions{}, b)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, sec := range f.Sections() {
		dst := out
		if sec.Name() != ini.DefaultSection {
			for _, part := range strings.Split(sec.Name(), ".") {
				next, ok := dst[part].(map[string]any)
				if !ok {
					next = map[string]any{}
					dst[part] = next
				}
				dst = next
			}
		}
		for _, k := range sec.Keys() {
			dst[k.Name()] = k.String()
		}
	}
	return out, nil
}

// Marshal is not needed: configuration is only read.
func (INI) Marshal(map[string]any) ([]byte, error) {
	return nil, errors.New("ini: writing is not supported")
}
