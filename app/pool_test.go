package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

// poolWorker answers calls with who it is, in any mode: "crash" makes the
// replica that gets it fail, as a crash would.
type poolWorker struct {
	id    app.Identity
	crash chan struct{}
	loop  modes.Loop // set on the loop, for the async modes
}

func newPoolWorker(id app.Identity) *poolWorker {
	return &poolWorker{id: id, crash: make(chan struct{}, 1)}
}

func (w *poolWorker) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-w.crash:
		return errors.New("crashed on request")
	}
}

func (w *poolWorker) RunAsync(_ context.Context, loop modes.Loop) error {
	w.loop = loop
	return nil
}

func (w *poolWorker) HandleCall(_ context.Context, req []byte) ([]byte, error) {
	if string(req) == "crash" {
		if w.loop != nil {
			w.loop.Exit(errors.New("crashed on request"))
		} else {
			w.crash <- struct{}{}
		}
		return []byte("crashing"), nil
	}
	return fmt.Appendf(nil, "%s %s %d", req, w.id.Service, os.Getpid()), nil
}

// poolApp runs four replicas of the worker in mode, set by configuration
// alone.
func poolApp(t *testing.T, mode modes.ExecutionMode, opts ...fx.Option) (*fxtest.App, *app.Supervisor, *recorder) {
	cfg, err := config.New(config.Args([]string{
		"--services.worker.mode=" + mode.String(),
		"--services.worker.replicas=4",
		"--services.worker.restart=IMMEDIATE",
	}))
	require.NoError(t, err)
	var sup *app.Supervisor
	rec := newRecorder()
	fxapp := fxtest.New(t, app.Module(append([]fx.Option{app.Test(t), quiet(), fx.NopLogger, rec.option(), config.Supply(cfg),
		app.Service("worker", newPoolWorker, modes.SeparateThread),
		fx.Populate(&sup),
	}, opts...)...))
	return fxapp, sup, rec
}

// callAll makes n calls from 64 goroutines and counts the answers by the
// replica that gave them; a call that finds its replica gone, as a crash
// leaves it, is tried again, as only the caller may decide.
func callAll(t *testing.T, sup *app.Supervisor, n int) map[string]int {
	t.Helper()
	var mu sync.Mutex
	byReplica := map[string]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				want := fmt.Sprint("call", i)
				for {
					resp, err := sup.Call(t.Context(), "worker", []byte(want))
					if errors.Is(err, app.ErrNotRunning) {
						continue // the caller's choice: this request is safe to repeat
					}
					if !assert.NoError(t, err) {
						return
					}
					fields := strings.Fields(string(resp))
					if assert.Len(t, fields, 3) && assert.Equal(t, want, fields[0]) {
						mu.Lock()
						byReplica[fields[1]]++
						mu.Unlock()
					}
					break
				}
			}
		})
	}
	wg.Wait()
	return byReplica
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// A pool of four replicas answers every call in every mode, the mode set
// by configuration alone; a replica that crashes mid-run loses no call
// that its caller did not see fail as retryable, comes back, and takes its
// share again.
func TestPoolInEveryMode(t *testing.T) {
	replicas := []string{"worker#1", "worker#2", "worker#3", "worker#4"}
	for _, mode := range modes.Modes() {
		t.Run(mode.String(), func(t *testing.T) {
			fxapp, sup, rec := poolApp(t, mode)
			fxapp.RequireStart()
			defer fxapp.RequireStop()

			answers := callAll(t, sup, 10_000)
			assert.Equal(t, 10_000, total(answers))
			assert.ElementsMatch(t, replicas, keys(answers), "every replica took calls")

			// Crash one replica while the calls go on. Its answer races
			// with its end, as a crash's would: either is fine.
			crashed := make(chan error, 1)
			go func() {
				resp, err := sup.Call(t.Context(), "worker#2", []byte("crash"))
				if err == nil && string(resp) != "crashing" {
					err = fmt.Errorf("answered %q", resp)
				}
				crashed <- err
			}()
			answers = callAll(t, sup, 2_000)
			assert.Equal(t, 2_000, total(answers))
			if err := <-crashed; err != nil {
				assert.ErrorIs(t, err, app.ErrNotRunning)
			}
			waitFor[*lifecycle.Restarting](t, rec, "worker#2")
			require.Eventually(t, func() bool {
				for _, s := range sup.Status() {
					if s.Service == "worker#2" {
						return s.State == lifecycle.StateRunning && s.Restarts == 1
					}
				}
				return false
			}, time.Minute, time.Millisecond)

			answers = callAll(t, sup, 2_000)
			assert.Equal(t, 2_000, total(answers))
			assert.ElementsMatch(t, replicas, keys(answers), "the replica that came back takes calls again")
			for _, s := range sup.Status() {
				assert.Contains(t, replicas, s.Service)
				assert.Equal(t, mode, s.Mode)
			}
		})
	}
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// slowWorker takes its time over each call and notes any call its context
// cut short.
type slowWorker struct{ cut *atomic.Int32 }

func (w *slowWorker) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (w *slowWorker) RunAsync(context.Context, modes.Loop) error {
	return nil
}

func (w *slowWorker) HandleCall(ctx context.Context, req []byte) ([]byte, error) {
	select {
	case <-time.After(20 * time.Millisecond):
		return req, nil
	case <-ctx.Done():
		w.cut.Add(1)
		if os.Getenv(markerEnv) != "" {
			mark("cut", "a call was cut") // from a child
		}
		return nil, ctx.Err()
	}
}

// caller calls the worker until it is stopped.
type caller struct {
	worker *app.Client
	failed *atomic.Int32
	calls  *atomic.Int32
}

func (c *caller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		_, err := c.worker.Call(ctx, []byte("work"))
		switch {
		case err == nil:
			c.calls.Add(1)
		case ctx.Err() == nil:
			c.failed.Add(1)
		}
	}
	return nil
}

// A service that takes another's Client starts after it and stops before
// it: a stop while the caller is mid-call cuts no request.
func TestCallerStopsBeforeItsCallee(t *testing.T) {
	for _, mode := range []modes.ExecutionMode{modes.SeparateThread, modes.MainEventLoopAsync, modes.SeparateProcess} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := os.Getenv(markerEnv)
			if _, child := app.InChild(); !child {
				dir = t.TempDir()
				t.Setenv(markerEnv, dir)
			}
			var cut, failed, calls atomic.Int32
			rec := newRecorder()
			a := newApp(t, rec.option(), app.Test(t),
				app.Service("caller", fx.Annotate(func(w *app.Client) *caller {
					return &caller{worker: w, failed: &failed, calls: &calls}
				}, fx.ParamTags(`name:"worker"`)), modes.SeparateThread),
				app.Service("worker", func() *slowWorker { return &slowWorker{cut: &cut} }, mode),
			)
			require.NoError(t, a.Start(t.Context()))
			require.Eventually(t, func() bool { return calls.Load() >= 3 }, time.Minute, time.Millisecond)
			require.NoError(t, a.Stop(t.Context()))

			assert.Equal(t, []string{"worker", "caller"}, names(rec, succeeded), "the callee starts first")
			assert.Equal(t, []string{"caller", "worker"}, names[*lifecycle.Stopped](rec, nil), "and stops last")
			assert.Zero(t, cut.Load(), "no request was cut")
			assert.Empty(t, marks(t, dir, "cut"), "no request was cut in the child")
			assert.Zero(t, failed.Load())
		})
	}
}

// mainCaller calls the worker, from its own loop, once it runs.
type mainCaller struct {
	worker *app.Client
	got    chan string
}

func (c *mainCaller) RunAsync(ctx context.Context, loop modes.Loop) error {
	loop.Post(func() {
		resp, err := c.worker.Call(ctx, []byte("from the loop"))
		if err != nil {
			c.got <- err.Error()
			return
		}
		c.got <- string(resp)
	})
	return nil
}

// A service on the main loop that calls another one there is answered at
// once, on the loop it is already on, instead of waiting for that loop.
func TestCallFromTheSameLoop(t *testing.T) {
	got := make(chan string, 1)
	a := newApp(t,
		app.Service("caller", fx.Annotate(func(w *app.Client) *mainCaller { return &mainCaller{worker: w, got: got} },
			fx.ParamTags(`name:"worker"`)), modes.MainEventLoopAsync),
		app.Service("worker", func() *slowWorker { return &slowWorker{cut: new(atomic.Int32)} }, modes.MainEventLoopAsync),
	)
	require.NoError(t, a.Start(t.Context()))
	select {
	case resp := <-got:
		assert.Equal(t, "from the loop", resp)
	case <-t.Context().Done():
		t.Fatal("the call never came back")
	}
	require.NoError(t, a.Stop(t.Context()))
}

// waiter answers a call only when its context ends.
type waiter struct{ entered, sawEnd chan struct{} }

func (w *waiter) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (w *waiter) HandleCall(ctx context.Context, _ []byte) ([]byte, error) {
	close(w.entered)
	<-ctx.Done()
	close(w.sawEnd)
	return nil, ctx.Err()
}

// A call that waits for its context to end does not keep its service from
// stopping: the stop lets calls under way finish for half its budget, then
// ends their context.
func TestAStopEndsACallThatWaitsForIt(t *testing.T) {
	w := &waiter{entered: make(chan struct{}), sawEnd: make(chan struct{})}
	a := newApp(t, app.Service("waiter", func() *waiter { return w }, modes.SeparateThread,
		lifecycle.StopTimeout(200*time.Millisecond)))
	require.NoError(t, a.Start(t.Context()))
	called := make(chan error, 1)
	go func() {
		_, err := a.Call(context.Background(), "waiter", nil)
		called <- err
	}()
	<-w.entered
	require.NoError(t, a.Stop(t.Context()))
	<-w.sawEnd
	var ce *app.CallError
	assert.ErrorAs(t, <-called, &ce)
}
