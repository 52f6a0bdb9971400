package lifecycle_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/internal/signs"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestOptionString(t *testing.T) {
	tests := []struct {
		give lifecycle.Option
		want string
	}{
		{lifecycle.StartTimeout(3 * time.Second), "lifecycle.StartTimeout(3s)"},
		{lifecycle.StopTimeout(250 * time.Millisecond), "lifecycle.StopTimeout(250ms)"},
		{lifecycle.WaitForReady(), "lifecycle.WaitForReady()"},
		{lifecycle.Restart(lifecycle.Immediate()), "lifecycle.Restart(IMMEDIATE)"},
		{lifecycle.Restart(lifecycle.DefaultStrategy(lifecycle.StrategyFixedBackoff)), "lifecycle.Restart(FIXED_BACKOFF(5s))"},
		{lifecycle.Restart(lifecycle.Strategy{}), "lifecycle.Restart(EXPONENTIAL_BACKOFF(1s, 1m0s, 5s))"},
		{lifecycle.Restart(lifecycle.LinearBackoff(2*time.Second, time.Minute)), "lifecycle.Restart(LINEAR_BACKOFF(2s, 1m0s))"},
		{lifecycle.RestartPolicy(lifecycle.Never), "lifecycle.RestartPolicy(NEVER)"},
		{lifecycle.Intensity(5, time.Minute), "lifecycle.Intensity(5, 1m0s)"},
		{lifecycle.StableAfter(time.Second), "lifecycle.StableAfter(1s)"},
		{lifecycle.FailAlone(), "lifecycle.FailAlone()"},
		{lifecycle.Replicas(4), "lifecycle.Replicas(4)"},
		{lifecycle.Watchdog(5 * time.Second), "lifecycle.Watchdog(5s)"},
		{lifecycle.ReplaceOnHangup(), "lifecycle.ReplaceOnHangup()"},
		{lifecycle.WarmSpare(), "lifecycle.WarmSpare()"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}

func TestSettingsWith(t *testing.T) {
	s := lifecycle.DefaultSettings()
	assert.Equal(t, lifecycle.Settings{
		StartTimeout: 15 * time.Second, StopTimeout: 15 * time.Second,
		Restart: lifecycle.ExponentialBackoff(time.Second, time.Minute, 5*time.Second),
		Policy:  lifecycle.OnFailure, MaxRestarts: 5, Window: time.Minute, Replicas: 1,
	}, s)
	assert.Equal(t, time.Minute, s.Stable(), "the stable period follows the window")
	got := s.With(lifecycle.StartTimeout(time.Second), nil, lifecycle.WaitForReady(), lifecycle.StartTimeout(2*time.Second),
		lifecycle.Restart(lifecycle.Immediate()), lifecycle.RestartPolicy(lifecycle.Always),
		lifecycle.Intensity(3, time.Second), lifecycle.FailAlone(), lifecycle.ReplaceOnHangup(), lifecycle.WarmSpare())
	want := s
	want.StartTimeout, want.WaitForReady = 2*time.Second, true
	want.ReplaceOnHangup, want.WarmSpare = true, true
	want.Restart, want.Policy = lifecycle.Immediate(), lifecycle.Always
	want.MaxRestarts, want.Window, want.FailAlone = 3, time.Second, true
	assert.Equal(t, want, got)
	assert.Equal(t, time.Second, got.Stable())
	assert.Equal(t, 7*time.Second, got.With(lifecycle.StableAfter(7*time.Second)).Stable())
	assert.Equal(t, lifecycle.DefaultSettings(), s, "With leaves the receiver alone")
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		give lifecycle.Option
		want string
	}{
		{lifecycle.StartTimeout(0), "start timeout 0s: want a positive duration"},
		{lifecycle.StopTimeout(-time.Second), "stop timeout -1s: want a positive duration"},
		{lifecycle.Intensity(-1, time.Second), "max restarts -1: want zero or more"},
		{lifecycle.Intensity(1, 0), "restart window 0s: want a positive duration"},
		{lifecycle.Restart(lifecycle.FixedBackoff(-time.Second)), "restart strategy FIXED_BACKOFF(-1s): delays must not be negative"},
		{lifecycle.RestartPolicy(9), "unknown restart policy: Policy(9)"},
		{lifecycle.Restart(lifecycle.LinearBackoff(time.Second, 0)), "restart strategy LINEAR_BACKOFF(1s, 0s): the cap must be at least the first delay"},
		{lifecycle.Replicas(0), "replicas 0: want 1 to 1024"},
		{lifecycle.Replicas(1025), "replicas 1025: want 1 to 1024"},
		{lifecycle.Watchdog(-time.Second), "watchdog -1s: want 0 (off) or at least 1ms"},
		{lifecycle.Watchdog(time.Microsecond), "watchdog 1µs: want 0 (off) or at least 1ms"},
	}
	for _, tt := range tests {
		assert.EqualError(t, lifecycle.DefaultSettings().With(tt.give).Validate(), tt.want)
	}
	assert.NoError(t, lifecycle.DefaultSettings().Validate())
	assert.NoError(t, lifecycle.DefaultSettings().With(lifecycle.Watchdog(time.Millisecond)).Validate())
	assert.Equal(t, time.Second, lifecycle.DefaultSettings().With(lifecycle.Watchdog(time.Second)).Watchdog)
}

func TestReady(t *testing.T) {
	calls := 0
	ctx := signs.WithReady(context.Background(), func() { calls++ })
	lifecycle.Ready(ctx)
	assert.Equal(t, 1, calls)
	lifecycle.Ready(context.Background()) // no signal installed: nothing happens
	assert.Equal(t, 1, calls)
}

func TestAlive(t *testing.T) {
	calls := 0
	ctx := signs.WithAlive(signs.WithReady(context.Background(), func() {}), func() { calls++ })
	lifecycle.Alive(ctx)
	lifecycle.Alive(ctx)
	assert.Equal(t, 2, calls, "every sign of life counts")
	lifecycle.Ready(ctx) // the two signals do not mix
	assert.Equal(t, 2, calls)
	lifecycle.Alive(context.Background()) // no watchdog: nothing happens
	assert.Equal(t, 2, calls)
}

func TestTimeoutError(t *testing.T) {
	err := error(&lifecycle.TimeoutError{Service: "db", Phase: "start", Timeout: time.Second})
	assert.EqualError(t, err, `service "db": start timed out after 1s`)
	assert.True(t, errors.Is(err, lifecycle.ErrTimeout))
	hung := error(&lifecycle.TimeoutError{Service: "db", Phase: "watchdog", Timeout: 5 * time.Second})
	assert.EqualError(t, hung, `service "db" hung: no sign of life for 5s, its watchdog period`)
	assert.True(t, errors.Is(hung, lifecycle.ErrTimeout))
}

func TestZapObserver(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	observe := lifecycle.ZapObserver(zap.New(core))
	boom := errors.New("boom")
	events := []lifecycle.Event{
		&lifecycle.Starting{Service: "db", Mode: modes.SeparateThread, Settings: lifecycle.DefaultSettings().With(lifecycle.Watchdog(time.Second))},
		&lifecycle.Started{Service: "db", Mode: modes.SeparateThread, PID: 10, TID: 11, Duration: time.Millisecond},
		&lifecycle.Started{Service: "db", Mode: modes.SeparateThread, Err: boom},
		&lifecycle.Stopping{Service: "db", Mode: modes.SeparateThread},
		&lifecycle.Stopped{Service: "db", Mode: modes.SeparateThread},
		&lifecycle.Stopped{Service: "db", Mode: modes.SeparateThread, Err: boom},
		&lifecycle.Stopped{Service: "db", Mode: modes.SeparateThread, Err: boom, Detached: true, Stack: []byte("stuck")},
		&lifecycle.Crashed{Service: "db", Mode: modes.SeparateThread, Err: boom, Stack: []byte("stack")},
		&lifecycle.Exited{Service: "db", Mode: modes.SeparateThread},
		&lifecycle.Stalled{Service: "db", Loop: "main", Func: "main.tick", Running: time.Second},
		&lifecycle.Replacing{Service: "db", Mode: modes.SeparateProcess, PID: 10},
		&lifecycle.Replaced{Service: "db", Mode: modes.SeparateProcess, OldPID: 10, PID: 12, Duration: time.Second},
		&lifecycle.Replaced{Service: "db", Mode: modes.SeparateProcess, OldPID: 10, PID: 10, Err: boom},
	}
	for _, e := range events {
		observe(e)
	}
	want := []struct {
		level zapcore.Level
		event string
	}{
		{zapcore.InfoLevel, "starting"}, {zapcore.InfoLevel, "started"}, {zapcore.ErrorLevel, "start-failed"},
		{zapcore.InfoLevel, "stopping"}, {zapcore.InfoLevel, "stopped"}, {zapcore.ErrorLevel, "stop-failed"},
		{zapcore.ErrorLevel, "detached"}, {zapcore.ErrorLevel, "crashed"}, {zapcore.InfoLevel, "exited"},
		{zapcore.WarnLevel, "stalled"}, {zapcore.InfoLevel, "replacing"}, {zapcore.InfoLevel, "replaced"},
		{zapcore.ErrorLevel, "replace-failed"},
	}
	entries := logs.AllUntimed()
	require.Len(t, entries, len(want))
	for i, w := range want {
		e := entries[i]
		assert.Equal(t, w.level, e.Level, w.event)
		assert.Equal(t, w.event, e.Message)
		fields := e.ContextMap()
		assert.Equal(t, w.event, fields["event"])
		assert.Equal(t, "db", fields["service"])
	}
	assert.Equal(t, time.Second, entries[0].ContextMap()["watchdog"])
	started := entries[1].ContextMap()
	assert.Equal(t, "SEPARATE_THREAD", started["mode"])
	assert.EqualValues(t, 10, started["pid"])
	assert.EqualValues(t, 11, started["tid"])
	assert.Equal(t, time.Millisecond, started["duration"])
	assert.Equal(t, "stuck", entries[6].ContextMap()["stack"], "a detached service's stack")
	assert.NotContains(t, entries[5].ContextMap(), "stack")
	crashed := entries[7].ContextMap()
	assert.Equal(t, "boom", crashed["error"])
	assert.Equal(t, "stack", crashed["stack"])
	assert.Equal(t, "main.tick", entries[9].ContextMap()["func"])
	assert.EqualValues(t, 10, entries[10].ContextMap()["pid"], "the child being replaced")
	replaced := entries[11].ContextMap()
	assert.EqualValues(t, 10, replaced["old_pid"])
	assert.EqualValues(t, 12, replaced["pid"])
	assert.Equal(t, time.Second, replaced["duration"])
	assert.Equal(t, "boom", entries[12].ContextMap()["error"])

	// A disabled level builds nothing and writes nothing.
	quietCore, quietLogs := observer.New(zapcore.ErrorLevel)
	lifecycle.ZapObserver(zap.New(quietCore))(events[0])
	assert.Zero(t, quietLogs.Len())
}
