package yaml

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hostfx/hostfx/modules/config"
)

// Format reads .yaml and .yml files. Give it to config.New with
// config.Formats.
func Format() config.Format {
	return config.Format{Name: "YAML", Extensions: []string{".yaml", ".yml"}, Parse: parse, Lines: lines}
}

func parse(data []byte) (map[string]any, error) {
	var m map[string]any
	err := yaml.Unmarshal(data, &m)
	return m, err
}

// lines places the keys of a YAML document. Keys reached only through an
// alias or a merge key are left out.
func lines(data []byte) map[string]int {
	out := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := prefix + strings.ToLower(k.Value)
			out[key] = k.Line
			walk(v, key+".")
		}
	}
	walk(doc.Content[0], "")
	return out
}
