package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

func TestStopDetachesAHungRun(t *testing.T) {
	f := newFixture()
	r := f.start(t)
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Stop(context.Background()) }()
	<-r.stop
	f.advance(t, 2*time.Second)

	err := <-errc
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "stop", te.Phase)
	assert.EqualError(t, err, `service "svc": stop timed out after 2s`)
	assert.Equal(t, fakeStack, string(stackOf(err)), "the error holds where the run is stuck")
	stopped := waitFor[*lifecycle.Stopped](t, f.rec, 1)
	assert.True(t, stopped.Detached)
	assert.Equal(t, fakeStack, string(stopped.Stack), "and so does the event")
	r.end(nil) // let the detached supervisor go, for goleak
}

func TestStopDuringBackoffReturnsAtOnce(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.FixedBackoff(time.Hour)))
	r := f.start(t)
	r.end(errors.New("boom"))
	waitFor[*lifecycle.Restarting](t, f.rec, 1)
	require.NoError(t, f.svc.Stop(t.Context())) // no clock advance: the hour is never waited
	assert.Equal(t, lifecycle.StateStopped, f.svc.State())
	select {
	case r := <-f.exec.launched:
		t.Fatalf("restarted after stop: %v", r)
	default:
	}
}

func TestHaltStopsRestarts(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()))
	r := f.start(t)
	close(f.halt)
	r.end(errors.New("boom while the app stops"))
	waitFor[*lifecycle.Crashed](t, f.rec, 1)
	assert.Zero(t, count[*lifecycle.Restarting](f.rec))
	assert.Zero(t, count[*lifecycle.GaveUp](f.rec), "a failure during the app's stop is not escalated")
	assert.Equal(t, lifecycle.StateFailed, f.svc.State())

	// The app's stop, which follows its halt, reports the end.
	err := f.svc.Stop(t.Context())
	assert.EqualError(t, err, `service "svc" (SEPARATE_THREAD): stop: boom while the app stops`)
	assert.Equal(t, err, only[*lifecycle.Stopped](t, f.rec).Err)
	assert.Equal(t, 1, count[*lifecycle.Stopping](f.rec))
	assert.Equal(t, lifecycle.StateStopped, f.svc.State())
	assert.NoError(t, f.svc.Stop(t.Context()), "once")
	assert.Equal(t, 1, count[*lifecycle.Stopped](f.rec))

	assert.ErrorIs(t, f.svc.Start(t.Context()), ErrAborted)
}

func TestARestartTheHaltDropsEndsInACleanStop(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.FixedBackoff(time.Hour)))
	r := f.start(t)
	r.end(errors.New("boom"))
	waitFor[*lifecycle.Restarting](t, f.rec, 1)
	close(f.halt)
	require.Eventually(t, func() bool { return f.svc.State() == lifecycle.StateStopped }, time.Minute, time.Millisecond,
		"the restart that will not come is not shown")
	require.NoError(t, f.svc.Stop(t.Context()), "the crash was reported before the backoff")
	assert.Equal(t, 1, count[*lifecycle.Stopping](f.rec))
	assert.NoError(t, only[*lifecycle.Stopped](t, f.rec).Err)
	// No restart: the state went to stopped, which it does only when the
	// halt ends the backoff (no clock advance could), and Stop has seen
	// supervision end.
}

func TestAFailAloneServiceFailsNobodysStop(t *testing.T) {
	f := newFixture(lifecycle.FailAlone())
	r := f.start(t)
	close(f.halt)
	r.end(errors.New("boom while the app stops"))
	waitFor[*lifecycle.Crashed](t, f.rec, 1)
	require.NoError(t, f.svc.Stop(t.Context()))
	assert.NoError(t, only[*lifecycle.Stopped](t, f.rec).Err)
	assert.Equal(t, lifecycle.StateStopped, f.svc.State())
}

func TestARestartThatIgnoresTheHaltIsReportedByTheStop(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.FixedBackoff(time.Second)))
	r := f.start(t)
	r.end(errors.New("boom"))
	waitFor[*lifecycle.Restarting](t, f.rec, 1)
	f.advance(t, time.Second)   // the backoff
	second := f.exec.pending(t) // never ready, and deaf to its stop
	defer second.end(nil)
	close(f.halt)
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 2)) // the start's timeout, and the abandoned run's stop
	f.clock.Advance(2 * time.Second)
	require.ErrorContains(t, waitFor[*lifecycle.Started](t, f.rec, 2).Err, "was detached")

	err := f.svc.Stop(t.Context())
	assert.ErrorContains(t, err, `service "svc" (SEPARATE_THREAD): stop: `)
	assert.ErrorContains(t, err, "was detached", "the run that ignored the halt runs on")
	assert.True(t, only[*lifecycle.Stopped](t, f.rec).Detached)
	assert.Equal(t, fakeStack, string(only[*lifecycle.Stopped](t, f.rec).Stack), "where the deaf restart is stuck")
}

func TestACleanEndDuringTheHaltIsTheStops(t *testing.T) {
	f := newFixture()
	exits := make(chan error, 1)
	f.svc.OnExit = func(_ *Service, err error) { exits <- err }
	r := f.start(t)
	close(f.halt)
	r.end(nil)
	waitFor[*lifecycle.Exited](t, f.rec, 1)
	require.NoError(t, f.svc.Stop(t.Context()))
	assert.NoError(t, only[*lifecycle.Stopped](t, f.rec).Err)
	assert.Empty(t, exits, "OnExit is for an end the app is not stopping for")
}

func TestStopErrorDoesNotCarryOverToTheNextStart(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.FixedBackoff(time.Hour)))
	r := f.start(t)
	go func() { <-r.stop; r.end(errors.New("flush failed")) }()
	assert.ErrorContains(t, f.svc.Stop(t.Context()), "flush failed")

	r = f.start(t)
	r.end(errors.New("boom")) // then a stop during the backoff
	waitFor[*lifecycle.Restarting](t, f.rec, 1)
	assert.NoError(t, f.svc.Stop(t.Context()), "the first cycle's stop error is gone")
}

func TestACleanEndWithAReasonFailsNoStop(t *testing.T) {
	f := newFixture()
	r := f.start(t)
	go func() { <-r.stop; r.end(&executor.CleanEnd{Reason: "stopped on a signal of its own"}) }()
	require.NoError(t, f.svc.Stop(t.Context()))
	assert.NoError(t, only[*lifecycle.Stopped](t, f.rec).Err)
}
