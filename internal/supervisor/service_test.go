package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
)

func TestStartTimesOutAndStopsTheRun(t *testing.T) {
	f := newFixture()
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(context.Background()) }()
	r := <-f.exec.launched
	f.advance(t, time.Second)
	<-r.stop // a run that failed to start is stopped
	r.end(context.Canceled)

	err := <-errc
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, lifecycle.TimeoutError{Service: "svc", Phase: "start", Timeout: time.Second}, *te)
	assert.Equal(t, lifecycle.StateStopped, f.svc.State())
	assert.ErrorIs(t, waitFor[*lifecycle.Started](t, f.rec, 1).Err, lifecycle.ErrTimeout)
	assert.Equal(t, err, f.svc.Status().LastError, "the status says why the start failed")
}

func TestStartFailsWhenRunEndsBeforeReady(t *testing.T) {
	f := newFixture()
	boom := errors.New("boom")
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(context.Background()) }()
	(<-f.exec.launched).end(boom)
	err := <-errc
	assert.ErrorIs(t, err, boom)
	assert.EqualError(t, err, `service "svc" (SEPARATE_THREAD): start: boom`, "the run's error, said once")
	assert.Zero(t, count[*lifecycle.Restarting](f.rec), "a failed first start is not restarted")
	st := f.svc.Status()
	assert.Equal(t, lifecycle.StateStopped, st.State)
	assert.Equal(t, err, st.LastError, "the status says why the start failed")
}

func TestStartCutShortByTheAppsStopIsNoFailure(t *testing.T) {
	f := newFixture()
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(context.Background()) }()
	r := <-f.exec.launched
	close(f.halt)
	<-r.stop
	r.end(context.Canceled)
	require.ErrorIs(t, <-errc, ErrAborted)
	assert.NoError(t, f.svc.Status().LastError, "a start the app's stop cut short is not the service's failure")
}

// OnStarted comes before anything about the run's end, even for a run that
// ends as soon as it is ready, before Start has returned: a child tells its
// parent of the start with it, and must not report the end first.
func TestOnStartedComesBeforeTheRunsEnd(t *testing.T) {
	f := newFixture(lifecycle.RestartPolicy(lifecycle.Never))
	var (
		mu    sync.Mutex
		order []string
	)
	note := func(what string) {
		mu.Lock()
		order = append(order, what)
		mu.Unlock()
	}
	f.svc.OnStarted = func(*Service) { note("OnStarted") }
	f.svc.OnGiveUp = func(*Service, error) { note("OnGiveUp") }
	observe := f.svc.Observe
	f.svc.Observe = func(e lifecycle.Event) {
		switch e.(type) {
		case *lifecycle.Started, *lifecycle.Crashed:
			note(fmt.Sprintf("%T", e))
		}
		observe(e)
	}
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(context.Background()) }()
	r := <-f.exec.launched
	close(r.ready)
	r.end(errors.New("boom"))
	require.NoError(t, <-errc, "readiness wins: the run started, then failed")
	waitFor[*lifecycle.GaveUp](t, f.rec, 1)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"OnStarted", "*lifecycle.Started", "*lifecycle.Crashed", "OnGiveUp"}, order)
}
