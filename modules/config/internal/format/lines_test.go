package format

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLines(t *testing.T) {
	tests := []struct {
		name  string
		lines func([]byte) map[string]int
		give  string
		want  map[string]int
	}{
		{
			name:  "yaml",
			lines: YAMLLines,
			give:  "# top\nApp:\n  Port: 1\n  tags: [a, b]\n  db: {host: x}\n",
			want:  map[string]int{"app": 2, "app.port": 3, "app.tags": 4, "app.db": 5, "app.db.host": 5},
		},
		{name: "yaml broken", lines: YAMLLines, give: "a: [", want: map[string]int{}},
		{name: "yaml empty", lines: YAMLLines, give: "", want: map[string]int{}},
		{
			name:  "json",
			lines: JSONLines,
			give:  "{\n \"App\": {\n  \"port\": 1,\n  \"list\": [{\"inner\": 1}]\n },\n \"x\": null\n}",
			want:  map[string]int{"app": 2, "app.port": 3, "app.list": 4, "x": 6},
		},
		{name: "json broken", lines: JSONLines, give: "{\"a\": 1, \"b\": [", want: map[string]int{"a": 1, "b": 1}},
		{
			name:  "toml",
			lines: TOMLLines,
			give: "title = \"t\"\n[App]\nport = 1\ntext = \"\"\"\nfake = 2\n\"\"\"\nserver.host = \"x\"\n" +
				"[[items]]\nname = \"a\"\n[\"quoted.table\"]\nk = 1\n[db]\n# comment\nhost = \"y\"\n",
			want: map[string]int{
				"title": 1, "app": 2, "app.port": 3, "app.text": 4, "app.server.host": 7, "db": 12, "db.host": 14,
			},
		},
		{
			name:  "ini",
			lines: INILines,
			give:  "; c\n# c\ndebug = true\n[App.DB]\nhost: x\nurl = http://y\n",
			want:  map[string]int{"debug": 3, "app.db": 4, "app.db.host": 5, "app.db.url": 6},
		},
		{
			name:  "dotenv",
			lines: DotEnvLines,
			give:  "# c\nexport A=1\nB = 2\nA=3\nnot a variable\n",
			want:  map[string]int{"A": 4, "B": 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.lines([]byte(tt.give)))
		})
	}
}

func TestFor(t *testing.T) {
	for _, path := range []string{"a.yaml", "a.YML", "a.json", "a.toml", "a.ini"} {
		f, err := For(path)
		require.NoError(t, err, path)
		assert.NotNil(t, f.Parser, path)
	}
	_, err := For("a.txt")
	assert.EqualError(t, err, `unknown format ".txt": want .yaml, .yml, .json, .toml or .ini`)
}

func TestINI(t *testing.T) {
	got, err := INI{}.Unmarshal([]byte("top = 1\n[a.b]\nc = 2\n[a]\nd = 3\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"top": "1", "a": map[string]any{"d": "3", "b": map[string]any{"c": "2"}}}, got)

	_, err = INI{}.Marshal(nil)
	assert.Error(t, err)
}
