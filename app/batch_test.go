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

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Main-loop services registered one after another: a failure among them
// holds back the ones after it and stops the ones before it, in order.

type panicking[K any] struct{}

func (*panicking[K]) RunAsync(context.Context, modes.Loop) error { panic("no config") }

func panickingChild[K, P any](*node[P]) *panicking[K] { return &panicking[K]{} }
func afterPanicking[K, P any](*panicking[P]) *node[K] { return &node[K]{} }

func TestBatchedStartFailureHoldsBackTheRest(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		failing    fx.Option
		next       fx.Option
	}{
		{"error", "RunAsync: no database",
			app.Service("m3", failingChild[[3]byte, [2]byte], modes.MainEventLoopAsync),
			app.Service("m4", afterFailing[[4]byte, [3]byte], modes.MainEventLoopAsync)},
		{"panic", "panic in (*app_test.panicking[[3]uint8]).RunAsync: no config",
			app.Service("m3", panickingChild[[3]byte, [2]byte], modes.MainEventLoopAsync),
			app.Service("m4", afterPanicking[[4]byte, [3]byte], modes.MainEventLoopAsync)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			a := newApp(t, rec.option(),
				app.Service("m5", child[[5]byte, [4]byte], modes.MainEventLoopAsync),
				tc.next,
				tc.failing,
				app.Service("m2", child[[2]byte, [1]byte], modes.MainEventLoopAsync),
				app.Service("m1", leaf[[1]byte], modes.MainEventLoopAsync),
			)
			err := a.Start(t.Context())
			require.Error(t, err)
			assert.Contains(t, err.Error(), `service "m3" (MAIN_EVENT_LOOP_ASYNC): start: `+tc.want)

			assert.Equal(t, []string{"m1", "m2", "m3"}, names[*lifecycle.Starting](rec, nil), "m4 and m5 never start")
			assert.Equal(t, []string{"m1", "m2"}, names(rec, succeeded))
			assert.Equal(t, []string{"m2", "m1"}, names[*lifecycle.Stopped](rec, nil))
			for _, s := range a.Status() {
				assert.NotEqual(t, lifecycle.StateRunning, s.State, s.Service)
			}
		})
	}
}

// journal is an ordered record shared by services, hooks and an observer.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.entries = append(j.entries, s)
	j.mu.Unlock()
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

type plain struct{}

func TestAPlainHookBetweenLoopServicesKeepsItsPlace(t *testing.T) {
	j := &journal{}
	a := newApp(t,
		app.Observe(func(e lifecycle.Event) {
			switch e := e.(type) {
			case *lifecycle.Started:
				j.add("started " + e.Service)
			case *lifecycle.Stopped:
				j.add("stopped " + e.Service)
			}
		}),
		app.Service("m1", leaf[[1]byte], modes.MainEventLoopAsync),
		// An ordinary fx constructor that needs m1 and is needed by m2: its
		// hook runs after m1 has started and before m2 starts.
		fx.Provide(func(lc fx.Lifecycle, _ *node[[1]byte]) *plain {
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error { j.add("plain start"); return nil },
				OnStop:  func(context.Context) error { j.add("plain stop"); return nil },
			})
			return &plain{}
		}),
		app.Service("m2", func(*plain) *node[[2]byte] { return &node[[2]byte]{} }, modes.MainEventLoopAsync),
		app.Service("m3", child[[3]byte, [2]byte], modes.MainEventLoopAsync),
	)
	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, []string{
		"started m1", "plain start", "started m2", "started m3",
		"stopped m3", "stopped m2", "plain stop", "stopped m1",
	}, j.list())
}

// worker keeps Go work running until its run is stopped, and notes whether
// the service it depends on was already being stopped when that work ended.
type worker struct {
	dep     *base
	overlap chan bool
}

type base struct{ ctx context.Context }

func (b *base) RunAsync(ctx context.Context, _ modes.Loop) error { b.ctx = ctx; return nil }

func (w *worker) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Go(func(ctx context.Context) error {
		<-ctx.Done()
		w.overlap <- w.dep.ctx.Err() != nil
		return nil
	}, nil)
	return nil
}

func TestBatchedStopWaitsForGoWorkBeforeStoppingWhatItNeeds(t *testing.T) {
	overlap := make(chan bool, 1)
	a := newApp(t,
		app.Service("base", func() *base { return &base{} }, modes.MainEventLoopAsync),
		app.Service("worker", func(b *base) *worker { return &worker{dep: b, overlap: overlap} }, modes.MainEventLoopAsync),
		app.Service("after", func(*worker) *node[[1]byte] { return &node[[1]byte]{} }, modes.MainEventLoopAsync),
	)
	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	select {
	case o := <-overlap:
		assert.False(t, o, "base was stopped while worker's Go work still ran")
	default:
		t.Fatal("worker's Go work never ended")
	}
}

// The batch is only an optimisation: errors.Is still finds what a
// service's start failed with.
func TestBatchedStartErrorUnwraps(t *testing.T) {
	a := newApp(t,
		app.Service("m1", leaf[[1]byte], modes.MainEventLoopAsync),
		app.Service("m2", func() *refusing { return &refusing{} }, modes.MainEventLoopAsync),
	)
	require.ErrorIs(t, a.Start(t.Context()), errRefused)
}

var errRefused = errors.New("refused")

type refusing struct{}

func (*refusing) RunAsync(context.Context, modes.Loop) error { return errRefused }

// slowStart holds the loop in RunAsync until its start is given up on.
type slowStart struct{}

func (slowStart) RunAsync(ctx context.Context, _ modes.Loop) error { <-ctx.Done(); return nil }

func TestABatchedStartThatTimesOutHoldsBackTheRestAtOnce(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.Service("slow", func() slowStart { return slowStart{} }, modes.MainEventLoopAsync,
			lifecycle.StartTimeout(50*time.Millisecond)),
		// IMMEDIATE: its loop reports its start itself, the path that once
		// reported it started and then cut short.
		app.Service("next", leaf[[1]byte], modes.MainEventLoopAsync, lifecycle.Restart(lifecycle.Immediate())),
	)
	err := a.Start(t.Context())
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "slow", te.Service)
	assert.Equal(t, []string{"slow"}, names[*lifecycle.Starting](rec, nil), "next never starts")
	assert.Empty(t, names(rec, succeeded))
	for _, s := range a.Status() {
		assert.NotEqual(t, lifecycle.StateRunning, s.State, s.Service)
	}
}

// An observer that panics while the loop restarts a service.
func TestAnObserverThatPanicsOnARestartOnTheLoopDoesNotHangTheService(t *testing.T) {
	rec := newRecorder()
	c := &cued{}
	var once sync.Once
	a := newApp(t, rec.option(),
		app.Observe(func(e lifecycle.Event) {
			if _, ok := e.(*lifecycle.Restarting); ok {
				once.Do(func() { panic("observer bug") })
			}
		}),
		app.Service("cued", func() *cued { return c }, modes.MainEventLoopAsync, lifecycle.Restart(lifecycle.Immediate())),
	)
	require.NoError(t, a.Start(t.Context()))
	view, _ := c.current()
	view.Exit(errCue)
	// The panic ends that run with the panic as its error; supervision goes
	// on off the loop and restarts it.
	require.Eventually(t, func() bool { _, runs := c.current(); return runs == 2 }, time.Minute, time.Millisecond)
	crashes := eventsOf[*lifecycle.Crashed](rec)
	require.NotEmpty(t, crashes)
	assert.ErrorContains(t, crashes[len(crashes)-1].Err, "observer bug")
	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, lifecycle.StateStopped, a.Status()[0].State)
}
