package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// staller holds its private loop for a second in one callback.
type staller struct{ stalling, ticked chan struct{} }

func (s *staller) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Post(func() {
		close(s.stalling)
		select { // a misbehaving service: it blocks its loop for a second
		case <-s.ticked:
			<-time.After(time.Second)
		case <-time.After(time.Minute):
		}
	})
	return nil
}

func TestStallOnAThreadLoopDoesNotDelayTheMainLoop(t *testing.T) {
	rec := newRecorder()
	s := &staller{stalling: make(chan struct{}), ticked: make(chan struct{})}
	tk := &ticker{ticks: make(chan struct{}, 1)}
	a := newApp(t, rec.option(),
		app.Service("staller", func() *staller { return s }, modes.SeparateThreadAsync),
		app.Service("ticker", func() *ticker { return tk }, modes.MainEventLoopAsync),
	)
	require.NoError(t, a.Start(t.Context()))
	<-s.stalling
	// The staller's loop is blocked from here until ticked is closed, so
	// these main-loop ticks all fire while it stalls.
	for range 5 {
		<-tk.ticks
	}
	close(s.ticked)

	stalled := waitFor[*lifecycle.Stalled](t, rec, "staller")
	assert.Equal(t, "staller", stalled.Loop)
	assert.Contains(t, stalled.Func, "staller")
	assert.GreaterOrEqual(t, stalled.Running, 100*time.Millisecond)
	require.NoError(t, a.Stop(t.Context()))
}
