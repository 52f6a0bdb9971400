package yaml

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	got, err := parse([]byte("app:\n  port: 1\n  tags: [a, b]\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"app": map[string]any{"port": 1, "tags": []any{"a", "b"}}}, got)

	_, err = parse([]byte("app: [1\n"))
	assert.ErrorContains(t, err, "did not find expected ',' or ']'")
}

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		give string
		want map[string]int
	}{
		{
			name: "sections, lists and flow mappings",
			give: "# top\nApp:\n  Port: 1\n  tags: [a, b]\n  db: {host: x}\n",
			want: map[string]int{"app": 2, "app.port": 3, "app.tags": 4, "app.db": 5, "app.db.host": 5},
		},
		{name: "broken", give: "a: [", want: map[string]int{}},
		{name: "empty", give: "", want: map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, lines([]byte(tt.give)))
		})
	}
}
