package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// A SIGTERM sent to a child directly, not by the app, stops its service
// in order: the child reports and exits 0, and the parent reports an
// explained end, not a crash.
func TestSIGTERMToAChildIsAnExplainedEnd(t *testing.T) {
	for _, mode := range []modes.ExecutionMode{modes.SeparateProcess, modes.SeparateProcessAsync} {
		t.Run(mode.String(), func(t *testing.T) {
			opts := []lifecycle.Option{lifecycle.Intensity(0, time.Minute)}
			if !mode.Async() {
				opts = append(opts, lifecycle.WaitForReady())
			}
			fxapp, rec, _ := processApp(t, app.Service("termed", newChild("idle"), mode, opts...))
			fxapp.RequireStart()
			pid := waitFor[*lifecycle.Started](t, rec, "termed").PID
			require.NoError(t, unix.Kill(pid, unix.SIGTERM))

			exited := waitWithin[*lifecycle.Exited](t, rec, "termed", time.Minute)
			want := fmt.Sprintf("child %d stopped in order on SIGTERM sent to it directly, not by the app", pid)
			assert.EqualError(t, exited.Err, want, "the end is explained")
			assert.Equal(t, pid, exited.PID)
			assert.Empty(t, names[*lifecycle.Crashed](rec, nil), "it is no crash")
			assert.Empty(t, names[*lifecycle.Restarting](rec, nil), "a clean end, under ON_FAILURE")
			require.Eventually(t, func() bool { return !alive(pid) }, time.Minute, time.Millisecond, "the child exited")
			fxapp.RequireStop()
			assert.Empty(t, names[*lifecycle.Stopped](rec, nil), "an exited service is not stopped again")
		})
	}
}

// The same under App.Run, as a deployed program runs: the parent logs the
// end and runs on, and stops cleanly.
func TestSIGTERMToTheChildOfARunningApp(t *testing.T) {
	p := startHelper(t, "procparent")
	child := childPID(t, p, "worker")
	require.NoError(t, unix.Kill(child, unix.SIGTERM))
	line := p.waitLog(`"event":"exited"`, `"service":"worker"`)
	assert.Contains(t, line, fmt.Sprintf(`"error":"child %d stopped in order on SIGTERM sent to it directly, not by the app"`, child))
	assert.Contains(t, line, `"level":"info"`)
	p.signal(unix.SIGTERM)
	code, log := p.wait()
	assert.Equal(t, 0, code, log)
	assert.NotContains(t, log, `"event":"crashed"`)
	assert.False(t, alive(child))
}
