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

func TestWatchdogMissIsAHangThatRestarts(t *testing.T) {
	f := newFixture(lifecycle.Watchdog(5*time.Second), lifecycle.Restart(lifecycle.Immediate()))
	r := f.start(t)
	require.NotNil(t, r.spec.Alive, "a run with a watchdog is given its sign of life")
	assert.Equal(t, 5*time.Second, r.spec.Watchdog)

	// Signs of life keep it running, each for a period of its own.
	f.advance(t, 3*time.Second)
	r.spec.Alive()
	f.advance(t, 3*time.Second) // 6s since the start, 3s since the sign
	r.spec.Alive()
	f.advance(t, 4*time.Second) // 4s since the last sign
	assert.False(t, chans.Closed(r.stop), "a run that shows life is not hung")
	assert.Zero(t, count[*lifecycle.Crashed](f.rec))

	// A whole period without one is a hang: Status says so at once, and
	// the run is told to stop.
	f.advance(t, time.Second)
	<-r.stop
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, f.svc.Status().LastError, &te)
	assert.Equal(t, lifecycle.TimeoutError{Service: "svc", Phase: "watchdog", Timeout: 5 * time.Second}, *te)
	assert.Equal(t, lifecycle.StateRunning, f.svc.State(), "still running until the run has ended")

	r.end(context.Canceled)
	crashed := waitFor[*lifecycle.Crashed](t, f.rec, 1)
	assert.EqualError(t, crashed.Err, `service "svc" hung: no sign of life for 5s, its watchdog period`)
	require.ErrorAs(t, crashed.Err, &te)
	assert.Equal(t, fakeStack, string(crashed.Stack), "the event holds where the run was stuck")
	restarting := waitFor[*lifecycle.Restarting](t, f.rec, 1)
	assert.ErrorIs(t, restarting.Cause, lifecycle.ErrTimeout)

	// The restart has a watchdog of its own, counted from its start.
	next := f.exec.next(t)
	require.NotNil(t, next.spec.Alive)
	f.advance(t, 4*time.Second)
	assert.False(t, chans.Closed(next.stop))
	f.stop(t, next)
}

func TestWatchdogHangReportsHowTheRunEnded(t *testing.T) {
	f := newFixture(lifecycle.Watchdog(time.Second), lifecycle.RestartPolicy(lifecycle.Never))
	r := f.start(t)
	f.advance(t, time.Second)
	<-r.stop
	r.end(errors.New("deadline exceeded talking to the database"))
	gave := <-f.gave
	assert.EqualError(t, gave, `service "svc" hung: no sign of life for 1s, its watchdog period; `+
		`it ended: deadline exceeded talking to the database`)
	assert.Equal(t, lifecycle.StateFailed, f.svc.State())
	assert.ErrorIs(t, f.svc.Status().LastError, lifecycle.ErrTimeout)
}

func TestWatchdogHangThatIgnoresItsStopGivesUp(t *testing.T) {
	f := newFixture(lifecycle.Watchdog(time.Second), lifecycle.Restart(lifecycle.Immediate()))
	r := f.start(t)
	defer r.end(nil) // let the detached run's watcher go, for goleak
	f.advance(t, time.Second)
	<-r.stop
	f.advance(t, 2*time.Second) // the stop timeout: the run is deaf to its stop

	gave := <-f.gave
	assert.ErrorContains(t, gave, `service "svc" hung: no sign of life for 1s, its watchdog period; it ignored its stop for 2s and was detached`)
	assert.Equal(t, fakeStack, string(waitFor[*lifecycle.Crashed](t, f.rec, 1).Stack))
	assert.Zero(t, count[*lifecycle.Restarting](f.rec), "no second copy beside the one left running")
	assert.Len(t, f.exec.launched, 0)
	assert.Equal(t, lifecycle.StateFailed, f.svc.State())
}

func TestWatchdogInAChildForwardsSignsOfLife(t *testing.T) {
	f := newFixture(lifecycle.Watchdog(time.Second))
	forwarded := 0
	f.svc.ForwardAlive = func() { forwarded++ }
	r := f.start(t)
	r.spec.Alive()
	assert.Equal(t, 1, forwarded, "the run's signs of life go to the parent")
	f.svc.mu.Lock()
	wd := f.svc.cur.wd
	f.svc.mu.Unlock()
	assert.Nil(t, wd, "the parent watches them, not the child")
	f.stop(t, r)
}

func TestNoWatchdogByDefault(t *testing.T) {
	f := newFixture()
	r := f.start(t)
	assert.Nil(t, r.spec.Alive)
	assert.Zero(t, r.spec.Watchdog)
	f.stop(t, r)
}
