package ini

import (
	"bufio"
	"bytes"
	"strings"

	"gopkg.in/ini.v1"

	"github.com/hostfx/hostfx/modules/config"
)

// Format reads .ini files. Give it to config.New with config.Formats.
func Format() config.Format {
	return config.Format{Name: "INI", Extensions: []string{".ini"}, Parse: parse, Lines: lines}
}

func parse(data []byte) (map[string]any, error) {
	f, err := ini.LoadSources(ini.LoadOptions{}, data)
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

// lines places the keys of an INI file: [section] headers and key = value
// or key: value lines. gopkg.in/ini.v1 keeps no positions, so this reads
// the lines itself; it records only lines that are plainly a header or an
// assignment, so it never places a key on a wrong line.
func lines(data []byte) map[string]int {
	out := map[string]int{}
	section, skip := "", false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == ';' || line[0] == '#':
			continue
		case line[0] == '[':
			end := strings.IndexByte(line, ']')
			section = ""
			if end > 0 {
				section = keyName(line[1:end])
			}
			// Keys under a header we cannot read are left out, not
			// placed in the wrong section.
			skip = section == ""
			if !skip {
				out[section] = n
			}
			continue
		}
		i := strings.IndexAny(line, "=:") // whichever comes first, as ini.v1 reads it
		if i < 0 || skip {
			continue
		}
		if key := keyName(line[:i]); key != "" {
			if section != "" {
				key = section + "." + key
			}
			out[key] = n
		}
	}
	return out
}

// keyName normalizes a section or key name: dotted parts trimmed and
// lower-cased. Quoted names are left out (""), since they may hold dots.
func keyName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, `"'`+"`") {
		return ""
	}
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return strings.Join(parts, ".")
}
