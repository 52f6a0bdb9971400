package format

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLines(t *testing.T) {
	tests := []struct {
		name  string
		lines func([]byte) map[string]int
		give  string
		want  map[string]int
	}{
		{
			name:  "json",
			lines: JSONLines,
			give:  "{\n \"App\": {\n  \"port\": 1,\n  \"list\": [{\"inner\": 1}]\n },\n \"x\": null\n}",
			want:  map[string]int{"app": 2, "app.port": 3, "app.list": 4, "x": 6},
		},
		{name: "json broken", lines: JSONLines, give: "{\"a\": 1, \"b\": [", want: map[string]int{"a": 1, "b": 1}},
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
