package toml

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	got, err := parse([]byte("[app]\nport = 1\ntags = [\"a\"]\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"app": map[string]any{"port": int64(1), "tags": []any{"a"}}}, got)

	_, err = parse([]byte("[app\n"))
	assert.Error(t, err)
}

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		give string
		want map[string]int
	}{
		{
			name: "tables, dotted keys and multi-line strings",
			give: "title = \"t\"\n[App]\nport = 1\ntext = \"\"\"\nfake = 2\n\"\"\"\nserver.host = \"x\"\n" +
				"[db]\n# comment\nhost = \"y\"\n",
			want: map[string]int{"title": 1, "app": 2, "app.port": 3, "app.text": 4, "app.server.host": 7, "db": 8, "db.host": 10},
		},
		{
			name: "quoted keys and inline tables",
			give: "[\"Quoted.Table\"]\nk = 1\n[a]\n'x y' = 2\nsrv = { host = \"h\", port = 3 }\n",
			want: map[string]int{"quoted.table": 1, "quoted.table.k": 2, "a": 3, "a.x y": 4, "a.srv": 5, "a.srv.host": 5, "a.srv.port": 5},
		},
		{
			name: "arrays of tables are lists",
			give: "[[items]]\nname = \"a\"\n[[items]]\nname = \"b\"\n[after]\nk = 1\n",
			want: map[string]int{"items": 1, "after": 5, "after.k": 6},
		},
		{
			name: "broken document, placed up to the break",
			give: "a = 1\nb = [\n",
			want: map[string]int{"a": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, lines([]byte(tt.give)))
		})
	}
}
