package supervisor

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// fakeRun is a run the test drives by hand.
type fakeRun struct {
	ready, stop, done chan struct{}
	err               error
	stopOnce          sync.Once
	live              *atomic.Int32 // of the executor that launched it
	spec              executor.Spec // what it was launched with
	pid               int           // a process of its own, as a child's
}

// fakeStack is the stack of every fake run's goroutine.
const fakeStack = "goroutine 9 [select]:\nfake.(*Service).Run()\n"

func newFakeRun() *fakeRun {
	return &fakeRun{ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
}

func (r *fakeRun) Ready() <-chan struct{} { return r.ready }
func (r *fakeRun) Wait() error            { <-r.done; return r.err }
func (r *fakeRun) Stop()                  { r.stopOnce.Do(func() { close(r.stop) }) }
func (r *fakeRun) TID() int               { return 7 }
func (r *fakeRun) PID() int               { return r.pid }
func (r *fakeRun) Stack() []byte          { return []byte(fakeStack) }
func (r *fakeRun) end(err error) {
	if r.live != nil {
		r.live.Add(-1)
	}
	r.err = err
	close(r.done)
}

// fakeExecutor hands each launch to the test, which decides how it goes.
type fakeExecutor struct {
	launched chan *fakeRun
	live     atomic.Int32 // runs launched and not yet ended
	maxLive  atomic.Int32
	launches atomic.Int32
}

func newFakeExecutor() *fakeExecutor { return &fakeExecutor{launched: make(chan *fakeRun, 100)} }

func (e *fakeExecutor) Launch(spec executor.Spec) executor.Run {
	r := newFakeRun()
	r.spec = spec
	r.live = &e.live
	r.pid = 100 + int(e.launches.Add(1))
	n := e.live.Add(1)
	for {
		m := e.maxLive.Load()
		if n <= m || e.maxLive.CompareAndSwap(m, n) {
			break
		}
	}
	e.launched <- r
	return r
}

// pending returns the next launched run, not ready.
func (e *fakeExecutor) pending(t *testing.T) *fakeRun {
	t.Helper()
	select {
	case r := <-e.launched:
		return r
	case <-t.Context().Done():
		t.Fatal("no launch")
		return nil
	}
}

// next returns the next launched run, already ready.
func (e *fakeExecutor) next(t *testing.T) *fakeRun {
	t.Helper()
	r := e.pending(t)
	close(r.ready)
	return r
}

type recorder struct {
	mu     sync.Mutex
	events []lifecycle.Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1000)} }

func (r *recorder) observe(e lifecycle.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.notify <- struct{}{}
}

func (r *recorder) snapshot() []lifecycle.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]lifecycle.Event(nil), r.events...)
}

// waitFor waits for the n-th event of type E, counting from 1.
func waitFor[E lifecycle.Event](t *testing.T, r *recorder, n int) E {
	t.Helper()
	for {
		seen := 0
		for _, e := range r.snapshot() {
			if e, ok := e.(E); ok {
				if seen++; seen == n {
					return e
				}
			}
		}
		select {
		case <-r.notify:
		case <-t.Context().Done():
			var zero E
			t.Fatalf("no %T number %d in %v", zero, n, r.snapshot())
		}
	}
}

// only returns the one event of type E there is so far.
func only[E lifecycle.Event](t *testing.T, r *recorder) E {
	t.Helper()
	var found []E
	for _, e := range r.snapshot() {
		if e, ok := e.(E); ok {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		var zero E
		t.Fatalf("%d events of type %T: want 1, in %v", len(found), zero, r.snapshot())
		return zero
	}
	return found[0]
}

func count[E lifecycle.Event](r *recorder) int {
	n := 0
	for _, e := range r.snapshot() {
		if _, ok := e.(E); ok {
			n++
		}
	}
	return n
}

type fixture struct {
	svc   *Service
	exec  *fakeExecutor
	clock *clockwork.FakeClock
	rec   *recorder
	halt  chan struct{}
	gave  chan error
}

func newFixture(opts ...lifecycle.Option) *fixture {
	f := &fixture{exec: newFakeExecutor(), clock: clockwork.NewFakeClock(), rec: newRecorder(),
		halt: make(chan struct{}), gave: make(chan error, 1)}
	f.svc = &Service{
		Name:     "svc",
		Mode:     modes.SeparateThread,
		Settings: lifecycle.DefaultSettings().With(lifecycle.StartTimeout(time.Second), lifecycle.StopTimeout(2*time.Second)).With(opts...),
		Executor: f.exec,
		Observe:  f.rec.observe,
		OnGiveUp: func(_ *Service, err error) { f.gave <- err },
		Clock:    f.clock,
		Halt:     func() <-chan struct{} { return f.halt },
		Rand:     rand.New(rand.NewPCG(1, 1)),
	}
	return f
}

// start starts the service with its first run ready.
func (f *fixture) start(t *testing.T) *fakeRun {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(t.Context()) }()
	r := f.exec.next(t)
	require.NoError(t, <-errc)
	return r
}

// stop stops the service, ending the current run when asked.
func (f *fixture) stop(t *testing.T, r *fakeRun) {
	t.Helper()
	if r != nil {
		go func() { <-r.stop; r.end(context.Canceled) }()
	}
	require.NoError(t, f.svc.Stop(t.Context()))
}

// advance moves the fake clock once a timer waits on it.
func (f *fixture) advance(t *testing.T, d time.Duration) {
	t.Helper()
	require.NoError(t, f.clock.BlockUntilContext(t.Context(), 1))
	f.clock.Advance(d)
}
