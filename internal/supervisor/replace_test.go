package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/lifecycle"
)

// replace runs Replace in the background and returns its result.
func (f *fixture) replace(ctx context.Context) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Replace(ctx) }()
	return errc
}

// current waits until the service's current run is r.
func (f *fixture) current(t *testing.T, r *fakeRun) {
	t.Helper()
	require.Eventually(t, func() bool { return f.svc.Current() == r }, time.Minute, time.Millisecond)
}

// A replacement starts a second run, swaps it in once it has started,
// stops the old one once its lease has ended, and the supervisor watches
// the new one from then on; the service runs throughout.
func TestReplaceSwapsInTheNewRunAndDrainsTheOld(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()))
	old := f.start(t)
	lease := f.svc.Use()
	require.Same(t, old, lease.Run())

	done := f.replace(t.Context())
	next := f.exec.next(t)
	f.current(t, next)
	assert.Equal(t, lifecycle.StateRunning, f.svc.State(), "the service runs throughout")
	assert.Equal(t, next.pid, f.svc.Status().PID, "the status shows the new run")
	newLease := f.svc.Use()
	assert.Same(t, next, newLease.Run(), "new uses go to the new run")
	newLease.End()
	assert.False(t, chans.Closed(old.stop), "the old run is not stopped while its lease lasts")

	lease.End()
	<-old.stop
	old.end(nil)
	require.NoError(t, <-done)

	assert.Equal(t, old.pid, only[*lifecycle.Replacing](t, f.rec).PID)
	replaced := only[*lifecycle.Replaced](t, f.rec)
	assert.Equal(t, old.pid, replaced.OldPID)
	assert.Equal(t, next.pid, replaced.PID)
	assert.NoError(t, replaced.Err)
	assert.Equal(t, next.pid, waitFor[*lifecycle.Started](t, f.rec, 2).PID)
	assert.Zero(t, count[*lifecycle.Crashed](f.rec)+count[*lifecycle.Exited](f.rec), "the old run's end is no crash")
	assert.Zero(t, f.svc.Status().Restarts)

	// The supervisor watches the new run: its crash restarts it.
	next.end(errors.New("boom"))
	assert.ErrorContains(t, waitFor[*lifecycle.Crashed](t, f.rec, 1).Err, "boom")
	third := f.exec.next(t)
	f.current(t, third)
	f.stop(t, third)
}

// Calls that outlast half the stop budget do not hold the old run: it is
// stopped then.
func TestReplaceDrainsForHalfTheStopBudget(t *testing.T) {
	f := newFixture()
	old := f.start(t)
	lease := f.svc.Use()
	defer lease.End()
	done := f.replace(t.Context())
	next := f.exec.next(t)
	f.current(t, next)
	f.advance(t, time.Second) // half of the fixture's stop timeout
	<-old.stop
	old.end(context.Canceled)
	require.NoError(t, <-done)
	f.stop(t, next)
}

// A new run that fails to start leaves the old one serving: Replace says
// why, naming the service, and so do the status and the Replaced event.
func TestReplaceThatFailsToStartKeepsTheOldRun(t *testing.T) {
	tests := []struct {
		name string
		fail func(f *fixture, next *fakeRun)
		want string
	}{
		{"ends before ready", func(_ *fixture, next *fakeRun) { next.end(errors.New("bad config")) },
			`service "svc" (SEPARATE_THREAD): start: bad config; the replacement did not take over, pid 101 serves on`},
		{"start timeout", func(f *fixture, next *fakeRun) {
			f.clock.Advance(time.Second)
			<-next.stop
			next.end(context.Canceled)
		}, `service "svc": start timed out after 1s; the replacement did not take over, pid 101 serves on`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			old := f.start(t)
			done := f.replace(t.Context())
			next := f.exec.pending(t)
			require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1)) // the start timeout
			tt.fail(f, next)
			err := <-done
			require.EqualError(t, err, tt.want)
			assert.Same(t, old, f.svc.Current())
			st := f.svc.Status()
			assert.Equal(t, lifecycle.StateRunning, st.State)
			assert.Equal(t, old.pid, st.PID)
			assert.Equal(t, err, st.LastError)
			replaced := only[*lifecycle.Replaced](t, f.rec)
			assert.Equal(t, old.pid, replaced.OldPID)
			assert.Equal(t, old.pid, replaced.PID, "the old run serves on")
			assert.Equal(t, err, replaced.Err)
			assert.False(t, chans.Closed(old.stop))
			f.stop(t, old)
		})
	}
}

// A replacement its context ends before the switch stops the new run and
// leaves the old one serving; it is no failure of the service.
func TestReplaceCutShortByItsContext(t *testing.T) {
	f := newFixture()
	old := f.start(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := f.replace(ctx)
	next := f.exec.pending(t)
	cancel()
	<-next.stop
	next.end(context.Canceled)
	err := <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, `service "svc"`)
	assert.Same(t, old, f.svc.Current())
	assert.NoError(t, f.svc.Status().LastError)

	require.ErrorIs(t, f.svc.Replace(ctx), context.Canceled, "an ended context starts nothing")
	assert.Len(t, f.exec.launched, 0)
	f.stop(t, old)
}

// A stop that comes during a replacement ends it: the new run and the old
// one both stop, and Stop returns only once they have.
func TestStopDuringAReplacement(t *testing.T) {
	t.Run("before the switch", func(t *testing.T) {
		f := newFixture()
		old := f.start(t)
		done := f.replace(t.Context())
		next := f.exec.pending(t)
		stopped := make(chan error, 1)
		go func() { stopped <- f.svc.Stop(t.Context()) }()
		<-next.stop
		<-old.stop
		old.end(context.Canceled)
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned (%v) while the replacement's run runs", err)
		default:
		}
		next.end(context.Canceled)
		assert.ErrorContains(t, <-done, "stopped while starting")
		require.NoError(t, <-stopped)
		assert.Equal(t, lifecycle.StateStopped, f.svc.State())
	})
	t.Run("while the old run drains", func(t *testing.T) {
		f := newFixture()
		old := f.start(t)
		lease := f.svc.Use()
		defer lease.End()
		done := f.replace(t.Context())
		next := f.exec.next(t)
		f.current(t, next)
		stopped := make(chan error, 1)
		go func() { stopped <- f.svc.Stop(t.Context()) }()
		<-next.stop
		next.end(context.Canceled)
		<-old.stop // the stop cuts the drain short
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned (%v) while the old run runs", err)
		default:
		}
		old.end(context.Canceled)
		require.NoError(t, <-done)
		require.NoError(t, <-stopped)
	})
	t.Run("after it", func(t *testing.T) {
		f := newFixture()
		f.stop(t, f.start(t))
		assert.EqualError(t, f.svc.Replace(t.Context()),
			`service "svc" (SEPARATE_THREAD): replace while stopped: only a running service can be replaced`)
	})
}

// A service that is not running cannot be replaced: the error names its
// state.
func TestReplaceWhileNotRunning(t *testing.T) {
	f := newFixture()
	assert.EqualError(t, f.svc.Replace(t.Context()),
		`service "svc" (SEPARATE_THREAD): replace while idle: only a running service can be replaced`)
	r := f.start(t)
	r.end(errors.New("boom"))
	waitFor[*lifecycle.Restarting](t, f.rec, 1)
	assert.EqualError(t, f.svc.Replace(t.Context()),
		`service "svc" (SEPARATE_THREAD): replace while waiting to restart: only a running service can be replaced`)
	f.stop(t, nil)
}

// A second replacement while one is under way waits for it, and then
// replaces the run the first one started: never more than two runs at
// once.
func TestConcurrentReplacementsTakeTurns(t *testing.T) {
	f := newFixture()
	old := f.start(t)
	first := f.replace(t.Context())
	second := f.exec.next(t)
	waiting := f.replace(t.Context())
	<-old.stop
	select {
	case r := <-f.exec.launched:
		t.Fatalf("a third run (pid %d) started while the first replacement runs", r.pid)
	default:
	}
	old.end(nil)
	require.NoError(t, <-first)
	third := f.exec.next(t)
	<-second.stop
	second.end(nil)
	require.NoError(t, <-waiting)
	assert.Same(t, third, f.svc.Current())
	assert.EqualValues(t, 2, f.exec.maxLive.Load())
	f.stop(t, third)

	f = newFixture()
	old = f.start(t)
	first = f.replace(t.Context())
	next := f.exec.pending(t)
	ctx, cancel := context.WithCancel(t.Context())
	waiting = f.replace(ctx)
	cancel()
	require.ErrorIs(t, <-waiting, context.Canceled, "the wait for a turn ends with its context")
	close(next.ready)
	<-old.stop
	old.end(nil)
	require.NoError(t, <-first)
	f.stop(t, next)
}

// An old run that ignores its stop is killed, and the replacement reports
// it; the new run serves.
func TestReplaceReportsAnOldRunThatDoesNotStop(t *testing.T) {
	f := newFixture()
	old := f.start(t)
	done := f.replace(t.Context())
	next := f.exec.next(t)
	<-old.stop
	f.advance(t, 2*time.Second)
	err := <-done
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "stop", te.Phase)
	assert.ErrorContains(t, err, `service "svc" (SEPARATE_THREAD): pid 102 took over, but pid 101 did not stop`)
	assert.Equal(t, err, only[*lifecycle.Replaced](t, f.rec).Err)
	assert.Same(t, next, f.svc.Current())
	old.end(context.Canceled)
	f.stop(t, next)
}
