package app_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// crasher fails when the test pulls the trigger, in the way how says.
type crasher struct {
	trigger chan struct{}
	how     string
}

func (c *crasher) Run(ctx context.Context) error {
	select {
	case <-c.trigger:
	case <-ctx.Done():
		return nil
	}
	if c.how == "panic" {
		panic("kaboom in Run")
	}
	return errors.New("boom from Run")
}

func (c *crasher) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Go(func(ctx context.Context) error {
		select {
		case <-c.trigger:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, func(err error) {
		if err != nil {
			return
		}
		switch c.how {
		case "panic":
			panic("kaboom in a callback")
		default:
			loop.Exit(errors.New("boom from a callback"))
		}
	})
	return nil
}

// ticker counts main-loop ticks on a channel, to show the loop lives on.
type ticker struct{ ticks chan struct{} }

func (t *ticker) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(modesTick, func() {
		select {
		case t.ticks <- struct{}{}:
		default:
		}
	})
	return nil
}

func TestCrashInEachInProcessMode(t *testing.T) {
	tests := []struct {
		mode    modes.ExecutionMode
		how     string
		wantErr string
	}{
		{modes.SeparateThread, "error", "boom from Run"},
		{modes.SeparateThread, "panic", "kaboom in Run"},
		{modes.MainEventLoopAsync, "panic", "kaboom in a callback"},
		{modes.MainEventLoopAsync, "error", "boom from a callback"},
		{modes.SeparateThreadAsync, "panic", "kaboom in a callback"},
		{modes.SeparateThreadAsync, "error", "boom from a callback"},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String()+"/"+tt.how, func(t *testing.T) {
			rec := newRecorder()
			c := &crasher{trigger: make(chan struct{}), how: tt.how}
			tk := &ticker{ticks: make(chan struct{}, 1)}
			a := newApp(t, rec.option(),
				app.Service("ticker", func() *ticker { return tk }, modes.MainEventLoopAsync),
				app.Service("crasher", func() *crasher { return c }, tt.mode, lifecycle.Intensity(0, time.Minute)),
			)
			require.NoError(t, a.Start(t.Context()))
			close(c.trigger)

			crashed := waitFor[*lifecycle.Crashed](t, rec, "crasher")
			assert.ErrorContains(t, crashed.Err, tt.wantErr)
			assert.Equal(t, tt.mode, crashed.Mode)
			if tt.how == "panic" {
				var pe *modes.PanicError
				require.ErrorAs(t, crashed.Err, &pe)
				assert.Contains(t, string(crashed.Stack), "crash_test.go", "the stack shows where it panicked")
			}
			sig := <-a.Wait()
			assert.Equal(t, 1, sig.ExitCode, "a service that gives up stops the app non-zero")
			assert.ErrorContains(t, waitFor[*lifecycle.GaveUp](t, rec, "crasher").Cause, tt.wantErr)

			// The main loop keeps serving the other service.
			for range 3 {
				<-tk.ticks
			}
			require.NoError(t, a.Stop(t.Context()))
			assert.Equal(t, []string{"ticker"}, names[*lifecycle.Stopped](rec, nil))
		})
	}
}

// flaky fails its first run and then runs until stopped; runs counts the
// runs, so a restart on the same instance shows.
type flaky struct {
	runs    atomic.Int32
	running atomic.Int32
}

func (f *flaky) Run(ctx context.Context) error {
	if f.running.Add(1) != 1 {
		panic("two runs at once")
	}
	defer f.running.Add(-1)
	if f.runs.Add(1) == 1 {
		return errors.New("first run fails")
	}
	<-ctx.Done()
	return nil
}

func (f *flaky) RunAsync(_ context.Context, loop modes.Loop) error {
	if f.runs.Add(1) == 1 {
		loop.Post(func() { panic("first run fails") })
	}
	return nil
}

func TestRestartInEachInProcessMode(t *testing.T) {
	for _, mode := range []modes.ExecutionMode{modes.MainEventLoopAsync, modes.SeparateThread, modes.SeparateThreadAsync} {
		t.Run(mode.String(), func(t *testing.T) {
			rec := newRecorder()
			f := &flaky{}
			a := newApp(t, rec.option(),
				app.Service("flaky", func() *flaky { return f }, mode, lifecycle.Restart(lifecycle.Immediate())))
			require.NoError(t, a.Start(t.Context()))
			restarting := waitFor[*lifecycle.Restarting](t, rec, "flaky")
			assert.Equal(t, 1, restarting.Attempt)
			assert.ErrorContains(t, restarting.Cause, "first run fails")
			require.Eventually(t, func() bool { return len(names(rec, succeeded)) == 2 }, time.Minute, time.Millisecond)
			assert.EqualValues(t, 2, f.runs.Load(), "the same instance runs again")
			require.NoError(t, a.Stop(t.Context()))
			assert.Equal(t, []string{"flaky"}, names[*lifecycle.Stopped](rec, nil))
		})
	}
}

func TestThousandServicesCrashingAtOnceAllRestart(t *testing.T) {
	gate := make(chan struct{})
	crashGate.Store(&gate)
	defer crashGate.Store(nil)
	rec := newRecorder()
	const n = 1000
	a := newApp(t, rec.option(), app.ServiceDefaults(lifecycle.Restart(lifecycle.Immediate())), manyServices(n, modes.SeparateThread))
	require.NoError(t, a.Start(t.Context()))
	close(gate)
	require.Eventually(t, func() bool { return len(names(rec, succeeded)) == 2*n }, time.Minute, 5*time.Millisecond)
	assert.Len(t, names[*lifecycle.Restarting](rec, nil), n)
	assert.Empty(t, names[*lifecycle.GaveUp](rec, nil))
	require.NoError(t, a.Stop(t.Context()))
	assert.Len(t, names[*lifecycle.Stopped](rec, func(e *lifecycle.Stopped) bool { return e.Err == nil }), n)
}
