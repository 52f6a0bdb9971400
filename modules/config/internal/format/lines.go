package format

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAMLLines places the keys of a YAML document. Keys reached only through
// an alias or a merge key are left out.
func YAMLLines(b []byte) map[string]int {
	lines := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return lines
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := prefix + strings.ToLower(k.Value)
			lines[key] = k.Line
			walk(v, key+".")
		}
	}
	walk(doc.Content[0], "")
	return lines
}

// JSONLines places the keys of a JSON document. Keys inside arrays are
// left out: they are not configuration keys of their own.
func JSONLines(b []byte) map[string]int {
	lines := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(b))
	var walk func(prefix string, record bool) error
	walk = func(prefix string, record bool) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := prefix + strings.ToLower(k.(string))
				if record {
					lines[key] = 1 + bytes.Count(b[:dec.InputOffset()], []byte("\n"))
				}
				if err := walk(key+".", record); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		case json.Delim('['):
			for dec.More() {
				if err := walk("", false); err != nil {
					return err
				}
			}
			_, err = dec.Token()
		}
		return err
	}
	_ = walk("", true) // a broken document is reported by the parser
	return lines
}

// INILines places the keys of an INI file: [section] headers and
// key = value lines.
func INILines(b []byte) map[string]int {
	return sectionLines(b, ";#", false)
}

// TOMLLines places the keys of a TOML file written as [table] headers and
// key = value lines, dotted keys included. Keys inside arrays of tables
// ([[table]]) and inline tables are left out.
func TOMLLines(b []byte) map[string]int {
	return sectionLines(b, "#", true)
}

// sectionLines scans the line-oriented formats. It only records lines
// that are plainly a header or an assignment, so it never places a key on
// a wrong line; what it cannot read it leaves out.
func sectionLines(b []byte, comments string, toml bool) map[string]int {
	lines := map[string]int{}
	section, skip := "", false
	multiline := "" // the delimiter of a TOML multi-line string being read
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if multiline != "" {
			if strings.Contains(line, multiline) {
				multiline = ""
			}
			continue
		}
		switch {
		case line == "" || strings.ContainsRune(comments, rune(line[0])):
			continue
		case strings.HasPrefix(line, "[["):
			skip = true
			continue
		case strings.HasPrefix(line, "["):
			end := strings.IndexByte(line, ']')
			if end < 0 {
				skip = true
				continue
			}
			// Keys under a header we cannot read are left out, not
			// placed in the wrong section.
			section = tableKey(line[1:end])
			skip = section == ""
			if !skip {
				lines[section] = n
			}
			continue
		}
		delims := "=:" // INI takes whichever comes first
		if toml {
			delims = "="
		}
		i := strings.IndexAny(line, delims)
		if i < 0 {
			continue
		}
		name, value := line[:i], line[i+1:]
		if toml {
			for _, delim := range []string{`"""`, `'''`} {
				if v := strings.TrimSpace(value); strings.HasPrefix(v, delim) && !strings.Contains(v[3:], delim) {
					multiline = delim
				}
			}
		}
		key := tableKey(name)
		if skip || key == "" {
			continue
		}
		if section != "" {
			key = section + "." + key
		}
		lines[key] = n
	}
	return lines
}

// tableKey normalizes a header or key name: dotted parts trimmed and
// lower-cased. Quoted names are left out (""), since they may hold dots.
func tableKey(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, `"'`) {
		return ""
	}
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return strings.Join(parts, ".")
}

// DotEnvLines places the variables of a .env file. Its keys are variable
// names as written, not configuration keys.
func DotEnvLines(b []byte) map[string]int {
	lines := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		name, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		lines[strings.TrimSpace(name)] = n // the last one wins, as in the parser
	}
	return lines
}
