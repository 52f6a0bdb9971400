package modes_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modes"
)

func TestModeString(t *testing.T) {
	tests := []struct {
		give modes.ExecutionMode
		want string
	}{
		{modes.MainEventLoopAsync, "MAIN_EVENT_LOOP_ASYNC"},
		{modes.SeparateThread, "SEPARATE_THREAD"},
		{modes.SeparateThreadAsync, "SEPARATE_THREAD_ASYNC"},
		{modes.SeparateProcess, "SEPARATE_PROCESS"},
		{modes.SeparateProcessAsync, "SEPARATE_PROCESS_ASYNC"},
		{0, "ExecutionMode(0)"},
		{42, "ExecutionMode(42)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		give string
		want modes.ExecutionMode
	}{
		{"MAIN_EVENT_LOOP_ASYNC", modes.MainEventLoopAsync},
		{"main_event_loop_async", modes.MainEventLoopAsync},
		{"main-event-loop-async", modes.MainEventLoopAsync},
		{"MainEventLoopAsync", modes.MainEventLoopAsync},
		{" separate_thread ", modes.SeparateThread},
		{"Separate-Thread-Async", modes.SeparateThreadAsync},
		{"separateProcess", modes.SeparateProcess},
		{"SEPARATE_PROCESS_ASYNC", modes.SeparateProcessAsync},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := modes.ParseMode(tt.give)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseModeUnknown(t *testing.T) {
	for _, give := range []string{"", "thread", "SEPARATE__THREADS", "main loop async x"} {
		_, err := modes.ParseMode(give)
		require.Error(t, err, give)
		assert.True(t, errors.Is(err, modes.ErrUnknownMode))
		assert.Contains(t, err.Error(), `"`+give+`"`)
		assert.Contains(t, err.Error(), "want one of MAIN_EVENT_LOOP_ASYNC, SEPARATE_THREAD, SEPARATE_THREAD_ASYNC, SEPARATE_PROCESS, SEPARATE_PROCESS_ASYNC")
	}
}

func TestModeTextRoundTrip(t *testing.T) {
	type conf struct {
		Mode modes.ExecutionMode `json:"mode"`
	}
	for _, m := range modes.Modes() {
		b, err := json.Marshal(conf{m})
		require.NoError(t, err)
		var back conf
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, m, back.Mode)
	}
	var c conf
	err := json.Unmarshal([]byte(`{"mode":"fork"}`), &c)
	assert.ErrorIs(t, err, modes.ErrUnknownMode)
	_, err = modes.ExecutionMode(0).MarshalText()
	assert.ErrorIs(t, err, modes.ErrUnknownMode)
}

func TestModeKinds(t *testing.T) {
	tests := []struct {
		give           modes.ExecutionMode
		async, process bool
	}{
		{modes.MainEventLoopAsync, true, false},
		{modes.SeparateThread, false, false},
		{modes.SeparateThreadAsync, true, false},
		{modes.SeparateProcess, false, true},
		{modes.SeparateProcessAsync, true, true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.async, tt.give.Async(), tt.give)
		assert.Equal(t, tt.process, tt.give.Process(), tt.give)
		assert.True(t, tt.give.Valid())
	}
	assert.False(t, modes.ExecutionMode(0).Valid())
}
