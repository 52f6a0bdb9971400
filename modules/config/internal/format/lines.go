package format

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
)

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
