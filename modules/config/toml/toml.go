package toml

import (
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/hostfx/hostfx/modules/config"
)

// Format reads .toml files. Give it to config.New with config.Formats.
func Format() config.Format {
	return config.Format{Name: "TOML", Extensions: []string{".toml"}, Parse: parse, Lines: lines}
}

func parse(data []byte) (map[string]any, error) {
	var m map[string]any
	err := toml.Unmarshal(data, &m)
	return m, err
}

// lines places the keys of a TOML document: table headers, the keys under
// them, dotted keys and the keys of inline tables. An array of tables
// ([[name]]) is placed at its first header; the keys inside it are items
// of a list, not keys of their own, and are left out. A broken document
// is placed up to where it breaks; the parser reports why.
func lines(data []byte) map[string]int {
	out := map[string]int{}
	p := unstable.Parser{}
	p.Reset(data)
	table, inArray := "", false
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			key, line := keyOf(&p, e.Key())
			table, inArray = key, e.Kind == unstable.ArrayTable
			if _, seen := out[key]; !seen || !inArray {
				out[key] = line
			}
		case unstable.KeyValue:
			if !inArray {
				keyValue(&p, e, table, out)
			}
		}
	}
	return out
}

// keyValue places a key = value line, and the keys of an inline table
// that is its value.
func keyValue(p *unstable.Parser, kv *unstable.Node, table string, out map[string]int) {
	key, line := keyOf(p, kv.Key())
	key = join(table, key)
	out[key] = line
	if v := kv.Value(); v.Kind == unstable.InlineTable {
		for it := v.Children(); it.Next(); {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				keyValue(p, n, key, out)
			}
		}
	}
}

// keyOf joins the parts of a dotted key, lower-cased as configuration
// keys are, and returns the line of its first part.
func keyOf(p *unstable.Parser, parts unstable.Iterator) (string, int) {
	var names []string
	line := 0
	for parts.Next() {
		n := parts.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		names = append(names, strings.ToLower(string(n.Data)))
	}
	return strings.Join(names, "."), line
}

func join(table, key string) string {
	if table == "" {
		return key
	}
	return table + "." + key
}
