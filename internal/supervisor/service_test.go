package supervisor

import (
	"context"
	"errors"
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
}

func TestStartFailsWhenRunEndsBeforeReady(t *testing.T) {
	f := newFixture()
	boom := errors.New("boom")
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(context.Background()) }()
	(<-f.exec.launched).end(boom)
	assert.ErrorIs(t, <-errc, boom)
	assert.Zero(t, count[*lifecycle.Restarting](f.rec), "a failed first start is not restarted")
}
