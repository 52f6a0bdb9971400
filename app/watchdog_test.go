package app_test

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// waitWithin returns the first event of type E for service, waiting at
// most d for it.
func waitWithin[E lifecycle.Event](t *testing.T, r *recorder, service string, d time.Duration) E {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	return waitUntil[E](ctx, t, r, service)
}

// showLife calls lifecycle.Alive every 10 ms until ctx ends or wake
// comes, and reports whether wake came.
func showLife(ctx context.Context, wake <-chan os.Signal) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			lifecycle.Alive(ctx)
		case <-wake:
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// wedger shows life until it gets SIGUSR1, and then wedges in
// wedgedInTheChild, deaf to its context, as a Run stuck on a lock would.
type wedger struct{}

func newWedger() *wedger { return &wedger{} }

func (*wedger) Run(ctx context.Context) error {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	lifecycle.Ready(ctx)
	if showLife(ctx, usr1) {
		wedgedInTheChild()
	}
	return nil
}

func wedgedInTheChild() { <-make(chan struct{}) }

// The child's control goroutine answers every heartbeat while its Run is
// wedged: only the watchdog, fed by the service, finds it.
func TestWatchdogFindsARunWedgedInAChild(t *testing.T) {
	fxapp, rec, _ := processApp(t, app.Service("wedged", newWedger, modes.SeparateProcess,
		lifecycle.WaitForReady(), lifecycle.Watchdog(time.Second), lifecycle.Intensity(0, time.Minute)))
	fxapp.RequireStart()
	trigger(t, rec, "wedged")

	crashed := waitWithin[*lifecycle.Crashed](t, rec, "wedged", time.Minute)
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, crashed.Err, &te, "%v", crashed.Err)
	assert.Equal(t, lifecycle.TimeoutError{Service: "wedged", Phase: "watchdog", Timeout: time.Second}, *te)
	assert.ErrorContains(t, crashed.Err, `service "wedged" hung: no sign of life for 1s, its watchdog period`)
	var ce *lifecycle.ChildExitError
	require.ErrorAs(t, crashed.Err, &ce)
	assert.True(t, ce.Killed)
	assert.Equal(t, "hung: no sign of life for 1s (watchdog)", ce.KilledFor)
	assert.Contains(t, string(crashed.Stack), "SIGQUIT", "the child was asked for its goroutines")
	assert.Contains(t, string(crashed.Stack), "wedgedInTheChild", "the dump shows where Run is stuck")
	assert.Equal(t, 1, (<-fxapp.Wait()).ExitCode, "the service gave up")
	fxapp.RequireStop()
}

// A held loop in a SEPARATE_PROCESS_ASYNC child: the child's loop runs the
// watchdog's probes and passes them on until a callback holds it. The
// heartbeat, a minute apart here, would take three minutes to notice.
func TestWatchdogFindsAHeldLoopInAChild(t *testing.T) {
	rec := newRecorder()
	fxapp := fxtest.New(t, app.Module(app.Test(t), fx.NopLogger, quiet(), rec.option(), app.ChildHeartbeat(time.Minute),
		app.Service("held", newAsyncChild("deadlock"), modes.SeparateProcessAsync,
			lifecycle.Watchdog(time.Second), lifecycle.Intensity(0, time.Minute))))
	fxapp.RequireStart()
	trigger(t, rec, "held")

	crashed := waitWithin[*lifecycle.Crashed](t, rec, "held", time.Minute)
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, crashed.Err, &te, "%v", crashed.Err)
	assert.Equal(t, "watchdog", te.Phase)
	var ce *lifecycle.ChildExitError
	require.ErrorAs(t, crashed.Err, &ce)
	assert.Equal(t, "hung: no sign of life for 1s (watchdog)", ce.KilledFor)
	assert.Contains(t, string(crashed.Stack), "(*childService).RunAsync", "the dump shows the callback that holds the loop")
	assert.Equal(t, 1, (<-fxapp.Wait()).ExitCode, "the service gave up")
	fxapp.RequireStop()
}

// stuckOnce blocks its first run in stuckInProcess until its context ends,
// without a sign of life; later runs show life until stopped.
type stuckOnce struct{ runs int }

func (s *stuckOnce) Run(ctx context.Context) error {
	s.runs++
	if s.runs == 1 {
		stuckInProcess(ctx)
		return ctx.Err()
	}
	showLife(ctx, nil)
	return nil
}

func stuckInProcess(ctx context.Context) { <-ctx.Done() }

func TestWatchdogFindsAStuckThreadAndRestartsIt(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.Service("stuck", func() *stuckOnce { return &stuckOnce{} }, modes.SeparateThread,
			lifecycle.Watchdog(200*time.Millisecond), lifecycle.Restart(lifecycle.Immediate())))
	require.NoError(t, a.Start(context.Background()))
	crashed := waitWithin[*lifecycle.Crashed](t, rec, "stuck", time.Minute)
	assert.EqualError(t, crashed.Err, `service "stuck" hung: no sign of life for 200ms, its watchdog period`)
	assert.Contains(t, string(crashed.Stack), "stuckInProcess", "the stack of the service's own goroutine")
	assert.NotContains(t, string(crashed.Stack), "supervisor", "and no other")
	waitWithin[*lifecycle.Restarting](t, rec, "stuck", time.Minute)
	assert.EqualError(t, a.Status()[0].LastError, crashed.Err.Error(), "Status tells the hang")
	require.Eventually(t, func() bool { return len(names(rec, succeeded)) == 2 }, time.Minute, time.Millisecond)
	require.NoError(t, a.Stop(context.Background()))
}
