package config_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		give    string
		want    config.Size
		wantErr string
	}{
		{give: "0", want: 0},
		{give: "512", want: 512},
		{give: "512B", want: 512},
		{give: "64KiB", want: 65536},
		{give: "64kib", want: 65536},
		{give: "1 KB", want: 1000},
		{give: "10MB", want: 10_000_000},
		{give: "1.5GiB", want: 1536 * config.MiB},
		{give: "2TB", want: 2 * config.TB},
		{give: " 3MiB ", want: 3 * config.MiB},
		{give: "", wantErr: `size "": want a byte size such as 512KiB or 10MB`},
		{give: "KiB", wantErr: `size "KiB": want a byte size such as 512KiB or 10MB`},
		{give: "12 parsecs", wantErr: `size "12 parsecs": want a byte size such as 512KiB or 10MB`},
		{give: "-1KB", wantErr: `size "-1KB": want a byte size such as 512KiB or 10MB`},
		{give: "1.2.3MB", wantErr: `size "1.2.3MB": want a byte size such as 512KiB or 10MB`},
		{give: "0.5B", wantErr: `size "0.5B": want a whole number of bytes`},
		{give: "9000000TiB", wantErr: `size "9000000TiB": want at most 9223372036854775807B`},
	}
	for _, tt := range tests {
		got, err := config.ParseSize(tt.give)
		if tt.wantErr != "" {
			assert.EqualError(t, err, tt.wantErr, tt.give)
			continue
		}
		require.NoError(t, err, tt.give)
		assert.Equal(t, tt.want, got, tt.give)
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		give config.Size
		want string
	}{
		{give: 0, want: "0B"},
		{give: 1023, want: "1023B"},
		{give: 1024, want: "1KiB"},
		{give: 1000, want: "1KB"},
		{give: 64 * config.KiB, want: "64KiB"},
		{give: 10 * config.MB, want: "10MB"},
		{give: 1536 * config.MiB, want: "1536MiB"},
		{give: 3 * config.TiB, want: "3TiB"},
		{give: math.MaxInt64, want: "9223372036854775807B"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
		text, err := tt.give.MarshalText()
		require.NoError(t, err)
		var back config.Size
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, tt.give, back, "round trip of %s", text)
	}
}
