package app_test

import (
	"context"
	"errors"
	"slices"
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

func TestStartOrderIsDeterministic(t *testing.T) {
	var first []string
	for run := range 20 {
		rec := newRecorder()
		a := newApp(t, rec.option(), graphServices())
		require.NoError(t, a.Start(t.Context()))
		require.NoError(t, a.Stop(t.Context()))

		starts := names(rec, succeeded)
		require.Len(t, starts, len(graphParents))
		assert.Equal(t, reversed(starts), names[*lifecycle.Stopped](rec, nil), "run %d stops in reverse", run)
		if first == nil {
			first = starts
			for svc, parents := range graphParents {
				for _, p := range parents {
					assert.Less(t, slices.Index(starts, p), slices.Index(starts, svc), "%s depends on %s", svc, p)
				}
			}
			continue
		}
		require.Equal(t, first, starts, "run %d", run)
	}
}

type failing[K any] struct{}

func (*failing[K]) RunAsync(context.Context, modes.Loop) error { return errors.New("no database") }

func failingChild[K, P any](*node[P]) *failing[K] { return &failing[K]{} }
func afterFailing[K, P any](*failing[P]) *node[K] { return &node[K]{} }

func TestStartFailureStopsTheStartedInReverse(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.Service("s5", child[[5]byte, [4]byte], modes.SeparateThread),
		app.Service("s4", afterFailing[[4]byte, [3]byte], modes.MainEventLoopAsync),
		app.Service("s3", failingChild[[3]byte, [2]byte], modes.MainEventLoopAsync),
		app.Service("s2", child[[2]byte, [1]byte], modes.SeparateThreadAsync),
		app.Service("s1", leaf[[1]byte], modes.SeparateThread),
	)
	err := a.Start(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `service "s3" (MAIN_EVENT_LOOP_ASYNC): start: RunAsync: no database`)

	assert.Equal(t, []string{"s1", "s2", "s3"}, names[*lifecycle.Starting](rec, nil), "s4 and s5 never start")
	assert.Equal(t, []string{"s1", "s2"}, names(rec, succeeded))
	assert.Equal(t, []string{"s2", "s1"}, names[*lifecycle.Stopped](rec, nil))
}

type hung struct{ release chan struct{} }

func (h *hung) Run(context.Context) error { <-h.release; return nil }

func TestHungStopIsDetachedAndReported(t *testing.T) {
	rec := newRecorder()
	h := &hung{release: make(chan struct{})}
	defer close(h.release) // let the detached goroutine end before goleak looks
	a := newApp(t, rec.option(),
		app.Service("ok", leaf[[1]byte], modes.SeparateThread),
		app.Service("stubborn", func() *hung { return h }, modes.SeparateThread, lifecycle.StopTimeout(20*time.Millisecond)),
	)
	require.NoError(t, a.Start(t.Context()))
	err := a.Stop(t.Context())

	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, lifecycle.TimeoutError{Service: "stubborn", Phase: "stop", Timeout: 20 * time.Millisecond}, *te)
	assert.Contains(t, err.Error(), `service "stubborn": stop timed out after 20ms`)
	stopped := waitFor[*lifecycle.Stopped](t, rec, "stubborn")
	assert.True(t, stopped.Detached)
	assert.Equal(t, []string{"stubborn", "ok"}, names[*lifecycle.Stopped](rec, nil), "stop goes on past the hung service")
}

// readyDB becomes ready when the test says so.
type readyDB struct{ ready chan struct{} }

func (d *readyDB) Run(ctx context.Context) error {
	select {
	case <-d.ready:
		lifecycle.Ready(ctx)
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

type api struct{}

func (*api) RunAsync(context.Context, modes.Loop) error { return nil }

func TestWaitForReady(t *testing.T) {
	rec := newRecorder()
	db := &readyDB{ready: make(chan struct{})}
	a := newApp(t, rec.option(),
		app.Service("api", func(*readyDB) *api { return &api{} }, modes.MainEventLoopAsync),
		app.Service("db", func() *readyDB { return db }, modes.SeparateThread, lifecycle.WaitForReady()),
	)
	started := make(chan error, 1)
	go func() { started <- a.Start(context.Background()) }()

	waitFor[*lifecycle.Starting](t, rec, "db")
	assert.Empty(t, names(rec, succeeded), "db is not started before it says so")
	close(db.ready)
	require.NoError(t, <-started)
	assert.Equal(t, []string{"db", "api"}, names(rec, succeeded))
	require.NoError(t, a.Stop(t.Context()))
}

func TestWaitForReadyTimesOut(t *testing.T) {
	db := &readyDB{ready: make(chan struct{})}
	a := newApp(t, app.Service("db", func() *readyDB { return db }, modes.SeparateThread,
		lifecycle.WaitForReady(), lifecycle.StartTimeout(20*time.Millisecond)))
	err := a.Start(t.Context())
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "start", te.Phase)
	assert.Equal(t, "db", te.Service)
}

func TestServiceDefaultsApplyAndServiceOptionsWin(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.ServiceDefaults(lifecycle.StartTimeout(time.Minute), lifecycle.StopTimeout(time.Minute)),
		app.ServiceDefaults(lifecycle.StopTimeout(2*time.Minute)),
		app.Service("a", leaf[[1]byte], modes.SeparateThread),
		app.Service("b", leaf[[2]byte], modes.SeparateThread, lifecycle.StopTimeout(time.Second)),
	)
	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	want := lifecycle.DefaultSettings()
	want.StartTimeout, want.StopTimeout = time.Minute, 2*time.Minute
	assert.Equal(t, want, waitFor[*lifecycle.Starting](t, rec, "a").Settings)
	want.StopTimeout = time.Second
	assert.Equal(t, want, waitFor[*lifecycle.Starting](t, rec, "b").Settings)
}

func TestFxtestAndModules(t *testing.T) {
	rec := newRecorder()
	fxapp := fxtest.New(t,
		app.Module(quiet(), rec.option(),
			fx.Module("payments",
				app.Service("ledger", leaf[[1]byte], modes.SeparateThread),
				app.Service("api", child[[2]byte, [1]byte], modes.MainEventLoopAsync),
			),
		))
	fxapp.RequireStart()
	fxapp.RequireStop()
	assert.Equal(t, []string{"ledger", "api"}, names(rec, succeeded))
	assert.Equal(t, []string{"api", "ledger"}, names[*lifecycle.Stopped](rec, nil))
}

func TestCleanExitLeavesTheAppRunning(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.Service("oneshot", func() *quick { return &quick{} }, modes.SeparateThread),
		app.Service("steady", leaf[[1]byte], modes.SeparateThread),
	)
	require.NoError(t, a.Start(t.Context()))
	waitFor[*lifecycle.Exited](t, rec, "oneshot")
	select {
	case sig := <-a.Wait():
		t.Fatalf("a clean exit stopped the app: %v", sig)
	default:
	}
	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, []string{"steady"}, names[*lifecycle.Stopped](rec, nil))
}

// quick returns as soon as it is started.
type quick struct{}

func (*quick) Run(ctx context.Context) error {
	lifecycle.Ready(ctx)
	return nil
}

func TestAppStartsAgainAfterStop(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.Service("loop", leaf[[1]byte], modes.MainEventLoopAsync),
		app.Service("thread", leaf[[2]byte], modes.SeparateThread),
	)
	for range 3 {
		require.NoError(t, a.Start(t.Context()))
		require.NoError(t, a.Stop(t.Context()))
	}
	assert.Equal(t, []string{"loop", "thread", "loop", "thread", "loop", "thread"}, names(rec, succeeded))
}
