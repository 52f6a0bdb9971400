package ini

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	got, err := parse([]byte("top = 1\n[a.b]\nc = 2\n[a]\nd = 3\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"top": "1", "a": map[string]any{"d": "3", "b": map[string]any{"c": "2"}}}, got)
}

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		give string
		want map[string]int
	}{
		{
			name: "sections and both delimiters",
			give: "; c\n# c\ndebug = true\n[App.DB]\nhost: x\nurl = http://y\n",
			want: map[string]int{"debug": 3, "app.db": 4, "app.db.host": 5, "app.db.url": 6},
		},
		{
			name: "keys under an unreadable header are left out",
			give: "[\"quoted.name\"]\nk = 1\n[ok]\nv = 2\n",
			want: map[string]int{"ok": 3, "ok.v": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, lines([]byte(tt.give)))
		})
	}
}
