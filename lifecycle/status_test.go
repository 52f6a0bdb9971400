package lifecycle_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestStateReadsAsPlainEnglish(t *testing.T) {
	tests := []struct {
		give lifecycle.State
		want string
	}{
		{lifecycle.StateIdle, "idle"},
		{lifecycle.StateStarting, "starting"},
		{lifecycle.StateRunning, "running"},
		{lifecycle.StateBackoff, "waiting to restart"},
		{lifecycle.StateStopping, "stopping"},
		{lifecycle.StateStopped, "stopped"},
		{lifecycle.StateExited, "exited"},
		{lifecycle.StateFailed, "failed"},
		{lifecycle.State(42), "unknown"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}

func TestStatusEncodesAsReadableJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := lifecycle.Status{
		Service: "db", Mode: modes.SeparateProcess, State: lifecycle.StateBackoff, Since: at,
		Restarts: 2, LastError: errors.New("child 7 exit status 2: panic: boom"), LastErrorAt: at, PID: 7, TID: 7,
	}
	data, err := json.Marshal(st)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Service":"db","Mode":"SEPARATE_PROCESS","State":"waiting to restart",
		"Since":"2026-01-02T03:04:05Z","Restarts":2,"LastError":"child 7 exit status 2: panic: boom",
		"LastErrorAt":"2026-01-02T03:04:05Z","PID":7,"TID":7}`, string(data))

	var back lifecycle.Status
	require.NoError(t, json.Unmarshal(data, &back))
	assert.EqualError(t, back.LastError, st.LastError.Error())
	back.LastError = st.LastError
	assert.Equal(t, st, back)

	data, err = json.Marshal([]lifecycle.Status{{Service: "ok", Mode: modes.SeparateThread, State: lifecycle.StateRunning}})
	require.NoError(t, err)
	assert.Contains(t, string(data), `"State":"running","Since":"0001-01-01T00:00:00Z","Restarts":0,"LastError":null`)
	require.NoError(t, json.Unmarshal(data, &[]lifecycle.Status{}))
}

func TestStateText(t *testing.T) {
	for s := lifecycle.StateIdle; s <= lifecycle.StateFailed; s++ {
		text, err := s.MarshalText()
		require.NoError(t, err)
		var back lifecycle.State
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, s, back)
	}
	_, err := lifecycle.State(42).MarshalText()
	assert.ErrorIs(t, err, lifecycle.ErrUnknownState)
	var s lifecycle.State
	assert.ErrorIs(t, s.UnmarshalText([]byte("asleep")), lifecycle.ErrUnknownState)
}
