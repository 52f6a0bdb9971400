package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// A main-loop service restarted IMMEDIATELY is restarted on the loop
// itself; these tests hold that path to the supervisor's rules.

var errCue = errors.New("crashed on cue")

// cued runs until the test ends its current view.
type cued struct {
	mu   sync.Mutex
	view modes.Loop
	runs int
}

func (c *cued) RunAsync(_ context.Context, loop modes.Loop) error {
	c.mu.Lock()
	c.view = loop
	c.runs++
	c.mu.Unlock()
	return nil
}

func (c *cued) current() (modes.Loop, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view, c.runs
}

// tids records the thread each event of type E was delivered on.
func tidsOf[E lifecycle.Event](mu *sync.Mutex, into *[]int) fx.Option {
	return app.Observe(func(e lifecycle.Event) {
		if _, ok := e.(E); ok {
			mu.Lock()
			*into = append(*into, unix.Gettid())
			mu.Unlock()
		}
	})
}

func TestImmediateRestartOnTheMainLoopStaysOnTheLoop(t *testing.T) {
	rec := newRecorder()
	c := &cued{}
	var mu sync.Mutex
	var restartTIDs []int
	a := newApp(t, rec.option(), tidsOf[*lifecycle.Restarting](&mu, &restartTIDs),
		app.Service("cued", func() *cued { return c }, modes.MainEventLoopAsync, lifecycle.Restart(lifecycle.Immediate())))
	require.NoError(t, a.Start(t.Context()))
	loopTID := waitFor[*lifecycle.Started](t, rec, "cued").TID

	for i := 1; i <= 3; i++ {
		view, _ := c.current()
		view.Exit(errCue)
		require.Eventually(t, func() bool { return len(names(rec, succeeded)) == i+1 }, time.Minute, time.Millisecond)
		_, runs := c.current()
		assert.Equal(t, i+1, runs, "the same instance runs again")
	}
	var attempts []int
	for _, e := range eventsOf[*lifecycle.Restarting](rec) {
		attempts = append(attempts, e.Attempt)
		assert.ErrorIs(t, e.Cause, errCue)
	}
	assert.Equal(t, []int{1, 2, 3}, attempts, "backoff attempts count up until the service runs stably")
	for _, e := range eventsOf[*lifecycle.Started](rec) {
		assert.Equal(t, loopTID, e.TID)
	}
	mu.Lock()
	assert.Equal(t, []int{loopTID, loopTID, loopTID}, restartTIDs, "each restart was decided on the loop's own thread")
	mu.Unlock()
	st := a.Status()[0]
	assert.Equal(t, 3, st.Restarts)
	assert.Equal(t, lifecycle.StateRunning, st.State)
	assert.ErrorIs(t, st.LastError, errCue)

	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, []string{"cued"}, names[*lifecycle.Stopped](rec, nil))
}

// storm fails at once on every run after the first, once the test has
// ended the first.
type storm struct{ cued }

func (s *storm) RunAsync(ctx context.Context, loop modes.Loop) error {
	_ = s.cued.RunAsync(ctx, loop)
	if _, runs := s.current(); runs > 1 {
		loop.Exit(errCue)
	}
	return nil
}

func TestImmediateRestartsOnTheLoopGiveUp(t *testing.T) {
	rec := newRecorder()
	c := &cued{}
	a := newApp(t, rec.option(),
		app.Service("cued", func() *cued { return c }, modes.MainEventLoopAsync,
			lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(3, time.Minute)),
		app.Service("bystander", leaf[[1]byte], modes.MainEventLoopAsync),
	)
	require.NoError(t, a.Start(t.Context()))
	view, _ := c.current()
	view.Exit(errCue)
	for i := 2; i <= 4; i++ { // each restart crashes as soon as it runs
		require.Eventually(t, func() bool { _, runs := c.current(); return runs == i }, time.Minute, time.Millisecond)
		view, _ = c.current()
		view.Exit(errCue)
	}
	select {
	case sig := <-a.Wait():
		assert.Equal(t, 1, sig.ExitCode)
	case <-t.Context().Done():
		t.Fatal("the app was not asked to stop")
	}
	gaveUp := waitFor[*lifecycle.GaveUp](t, rec, "cued")
	assert.Equal(t, 3, gaveUp.Restarts)
	assert.ErrorIs(t, gaveUp.Cause, errCue)
	assert.Equal(t, lifecycle.StateFailed, a.Status()[0].State)
	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, []string{"bystander"}, names[*lifecycle.Stopped](rec, nil), "the failed service has nothing left to stop")
}

func TestStopWinsOverARestartStormOnTheLoop(t *testing.T) {
	rec := newRecorder()
	s := &storm{}
	a := newApp(t, rec.option(),
		app.Service("storm", func() *storm { return s }, modes.MainEventLoopAsync,
			lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(1<<30, time.Minute)),
	)
	require.NoError(t, a.Start(t.Context()))
	view, _ := s.current()
	view.Exit(errCue)
	require.Eventually(t, func() bool { return len(eventsOf[*lifecycle.Restarting](rec)) >= 100 }, time.Minute, time.Millisecond)
	// The stop may catch a run that has just crashed, and then says so.
	if err := a.Stop(t.Context()); err != nil {
		require.ErrorIs(t, err, errCue)
	}

	// The app halts all restarts before it stops each service. A crash
	// between the halt and the stop, or a restart the halt overtook, is
	// reported by the stop all the same.
	rec.mu.Lock()
	last := rec.events[len(rec.events)-1]
	rec.mu.Unlock()
	assert.IsType(t, &lifecycle.Stopped{}, last)
	assert.Equal(t, lifecycle.StateStopped, a.Status()[0].State)
	_, runs := s.current()
	assert.Len(t, names(rec, succeeded), runs, "every run was reported started, once")
	assert.LessOrEqual(t, runs-1, len(eventsOf[*lifecycle.Restarting](rec)), "a restart the stop overtook never ran")
}

// eventsOf lists the recorded events of type E.
func eventsOf[E lifecycle.Event](r *recorder) []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []E
	for _, e := range r.events {
		if e, ok := e.(E); ok {
			out = append(out, e)
		}
	}
	return out
}
