package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/lifecycle"
)

func TestLimitsString(t *testing.T) {
	tests := []struct {
		give lifecycle.ResourceLimits
		want string
	}{
		{lifecycle.ResourceLimits{}, "lifecycle.Limits(none)"},
		{lifecycle.ResourceLimits{Memory: 64 << 20}, "lifecycle.Limits(memory 64 MiB)"},
		{lifecycle.ResourceLimits{Memory: 3 << 30, Files: 128, CPUTime: time.Minute, Processes: 16},
			"lifecycle.Limits(memory 3 GiB, open files 128, CPU time 1m0s, processes 16)"},
		{lifecycle.ResourceLimits{Memory: 1536 << 10}, "lifecycle.Limits(memory 1536 KiB)"},
		{lifecycle.ResourceLimits{Memory: 20_000_001}, "lifecycle.Limits(memory 20000001 bytes)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, lifecycle.Limits(tt.give).String())
	}
}

func TestLimitsMerge(t *testing.T) {
	code := lifecycle.Limits(lifecycle.ResourceLimits{Memory: 64 << 20, Files: 100})
	config := lifecycle.Limits(lifecycle.ResourceLimits{Files: 200, Processes: 8})
	got := lifecycle.DefaultSettings().With(code, config).Limits
	assert.Equal(t, lifecycle.ResourceLimits{Memory: 64 << 20, Files: 200, Processes: 8}, got,
		"each limit set replaces its kind, and the rest stays")
	assert.True(t, lifecycle.DefaultSettings().Limits.IsZero())
	assert.False(t, got.IsZero())
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		give lifecycle.ResourceLimits
		want string
	}{
		{lifecycle.ResourceLimits{Memory: -1}, "memory limit -1: want a positive number of bytes, or 0 for none"},
		{lifecycle.ResourceLimits{Memory: 1 << 20}, "memory limit 1 MiB: want at least 16 MiB, which a Go child needs to start"},
		{lifecycle.ResourceLimits{Files: -2}, "open-file limit -2: want a positive number, or 0 for none"},
		{lifecycle.ResourceLimits{CPUTime: 1500 * time.Millisecond}, "CPU time limit 1.5s: want whole seconds, which is what the kernel counts, or 0 for none"},
		{lifecycle.ResourceLimits{CPUTime: -time.Second}, "CPU time limit -1s: want whole seconds, which is what the kernel counts, or 0 for none"},
		{lifecycle.ResourceLimits{Processes: -3}, "process limit -3: want a positive number, or 0 for none"},
	}
	for _, tt := range tests {
		assert.EqualError(t, lifecycle.DefaultSettings().With(lifecycle.Limits(tt.give)).Validate(), tt.want)
	}
	assert.NoError(t, lifecycle.DefaultSettings().With(lifecycle.Limits(lifecycle.ResourceLimits{
		Memory: lifecycle.MinMemoryLimit, Files: 1, CPUTime: time.Second, Processes: 1,
	})).Validate())
}
