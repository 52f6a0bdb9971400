package hookorder_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/internal/hookorder"
)

func statusOf(names *[]string) func() []lifecycle.Status {
	return func() []lifecycle.Status {
		out := make([]lifecycle.Status, len(*names))
		for i, n := range *names {
			out[i] = lifecycle.Status{Service: n}
		}
		return out
	}
}

func TestLast(t *testing.T) {
	tests := []struct {
		name    string
		before  []string
		after   []string
		wantErr string
	}{
		{name: "last", before: []string{"a", "b"}, after: []string{"a", "b"}},
		{name: "no services", before: nil, after: nil},
		{name: "one after", before: []string{"a"}, after: []string{"a", "b"},
			wantErr: `ops.Module: service "b" is built after it`},
		{name: "two after", before: nil, after: []string{"a", "b#2"},
			wantErr: `ops.Module: services "a", "b#2" are built after it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := tt.before
			last := hookorder.Mark("ops.Module", statusOf(&names))
			names = tt.after
			err := last.Check()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), "pass ops.Module after every app.Service")
		})
	}
}
