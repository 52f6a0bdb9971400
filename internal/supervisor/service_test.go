package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRun is a run the test drives by hand.
type fakeRun struct {
	ready, stop, done chan struct{}
	err               error
	stopOnce          sync.Once
	live              *atomic.Int32 // of the executor that launched it
}

func newFakeRun() *fakeRun {
	return &fakeRun{ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
}

func (r *fakeRun) Ready() <-chan struct{} { return r.ready }
func (r *fakeRun) Wait() error            { <-r.done; return r.err }
func (r *fakeRun) Stop()                  { r.stopOnce.Do(func() { close(r.stop) }) }
func (r *fakeRun) TID() int               { return 7 }
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
}

func newFakeExecutor() *fakeExecutor { return &fakeExecutor{launched: make(chan *fakeRun, 100)} }

func (e *fakeExecutor) Launch(executor.Spec) executor.Run {
	r := newFakeRun()
	r.live = &e.live
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

func TestStopDetachesAHungRun(t *testing.T) {
	f := newFixture()
	r := f.start(t)
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Stop(context.Background()) }()
	<-r.stop
	f.advance(t, 2*time.Second)

	var te *lifecycle.TimeoutError
	require.ErrorAs(t, <-errc, &te)
	assert.Equal(t, "stop", te.Phase)
	assert.True(t, waitFor[*lifecycle.Stopped](t, f.rec, 1).Detached)
	r.end(nil) // let the detached supervisor go, for goleak
}

func TestRestartDelaysFollowTheStrategy(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		give lifecycle.Strategy
		want []time.Duration
	}{
		{"immediate", lifecycle.Immediate(), []time.Duration{0, 0, 0, 0}},
		{"fixed", lifecycle.FixedBackoff(2 * s), []time.Duration{2 * s, 2 * s, 2 * s, 2 * s}},
		{"linear", lifecycle.LinearBackoff(s, 3*s), []time.Duration{s, 2 * s, 3 * s, 3 * s}},
		{"exponential", lifecycle.ExponentialBackoff(s, 4*s, 0), []time.Duration{s, 2 * s, 4 * s, 4 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(lifecycle.Restart(tt.give), lifecycle.Intensity(100, time.Hour))
			r := f.start(t)
			for i, want := range tt.want {
				r.end(fmt.Errorf("failure %d", i))
				ev := waitFor[*lifecycle.Restarting](t, f.rec, i+1)
				require.Equal(t, want, ev.Delay, "restart %d", i+1)
				assert.Equal(t, i+1, ev.Attempt)
				assert.EqualError(t, ev.Cause, fmt.Sprintf("failure %d", i))
				if want > 0 {
					assert.Equal(t, lifecycle.StateBackoff, f.svc.State())
					f.advance(t, want)
				}
				r = f.exec.next(t)
			}
			assert.Equal(t, len(tt.want), f.svc.Status().Restarts)
			f.stop(t, r)
			assert.EqualValues(t, 1, f.exec.maxLive.Load(), "never two runs at once")
		})
	}
}

func TestRestartMatrix(t *testing.T) {
	boom := errors.New("boom")
	ends := []struct {
		name string
		err  error
	}{
		{"nil return", nil},
		{"error", boom},
		{"panic", &modes.PanicError{Value: "kaboom", Func: "Run"}},
		{"do not restart", fmt.Errorf("finished: %w", lifecycle.ErrNoRestart)},
		{"killed", errors.New("signal: killed")},
	}
	policies := []struct {
		policy lifecycle.Policy
		want   []bool // per end above: restarted?
	}{
		{lifecycle.Always, []bool{true, true, true, false, true}},
		{lifecycle.OnFailure, []bool{false, true, true, false, true}},
		{lifecycle.Never, []bool{false, false, false, false, false}},
	}
	for _, p := range policies {
		for i, end := range ends {
			t.Run(fmt.Sprintf("%v/%s", p.policy, end.name), func(t *testing.T) {
				f := newFixture(lifecycle.RestartPolicy(p.policy), lifecycle.Restart(lifecycle.Immediate()))
				r := f.start(t)
				r.end(end.err)
				failed := end.err != nil && !errors.Is(end.err, lifecycle.ErrNoRestart)
				if p.want[i] {
					r = f.exec.next(t)
					assert.Equal(t, 1, count[*lifecycle.Restarting](f.rec))
					f.stop(t, r)
					return
				}
				if failed {
					assert.Same(t, end.err, <-f.gave, "a failure that is not restarted gives up")
					assert.Equal(t, lifecycle.StateFailed, f.svc.State())
				} else {
					waitFor[*lifecycle.Exited](t, f.rec, 1)
					assert.Eventually(t, func() bool { return f.svc.State() == lifecycle.StateExited }, time.Minute, time.Millisecond)
				}
				assert.Zero(t, count[*lifecycle.Restarting](f.rec))
				assert.NoError(t, f.svc.Stop(t.Context()), "stopping an ended service does nothing")
			})
		}
	}
}

func TestIntensityGivesUp(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(3, time.Minute))
	r := f.start(t)
	for i := range 3 {
		r.end(fmt.Errorf("failure %d", i))
		r = f.exec.next(t)
	}
	r.end(errors.New("last straw"))
	assert.EqualError(t, <-f.gave, "last straw")
	gave := waitFor[*lifecycle.GaveUp](t, f.rec, 1)
	assert.Equal(t, 3, gave.Restarts)
	assert.Equal(t, time.Minute, gave.Window)
	st := f.svc.Status()
	assert.Equal(t, lifecycle.StateFailed, st.State)
	assert.EqualError(t, st.LastError, "last straw")
	assert.Equal(t, 3, st.Restarts)
}

func TestFailuresSpacedWiderThanTheWindowDoNotEscalate(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Minute))
	r := f.start(t)
	for i := range 6 {
		f.clock.Advance(61 * time.Second) // each failure comes after the window
		r.end(fmt.Errorf("failure %d", i))
		r = f.exec.next(t)
	}
	assert.Zero(t, count[*lifecycle.GaveUp](f.rec))
	f.stop(t, r)
}

func TestBackoffStartsOverAfterAStableRun(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.ExponentialBackoff(time.Second, time.Hour, 0)),
		lifecycle.Intensity(100, time.Hour), lifecycle.StableAfter(10*time.Second))
	r := f.start(t)
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		r.end(errors.New("flaky"))
		require.Equal(t, want, waitFor[*lifecycle.Restarting](t, f.rec, i+1).Delay)
		f.advance(t, want)
		r = f.exec.next(t)
	}
	// Started comes after the run's start time is taken, so the stable
	// period below counts from it whatever the order inside the launch.
	waitFor[*lifecycle.Started](t, f.rec, 4)
	f.clock.Advance(10 * time.Second) // this run is stable
	r.end(errors.New("flaky again"))
	require.Equal(t, time.Second, waitFor[*lifecycle.Restarting](t, f.rec, 4).Delay)
	f.advance(t, time.Second)
	f.stop(t, f.exec.next(t))
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

func TestRestartThatFailsToStartCountsAsAFailure(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Hour))
	r := f.start(t)
	r.end(errors.New("first"))
	for range 2 {
		(<-f.exec.launched).end(errors.New("cannot start"))
	}
	assert.ErrorContains(t, <-f.gave, "cannot start")
	assert.Equal(t, 2, f.svc.Status().Restarts)
}

func TestAlwaysGivesUpOnTooManyCleanEnds(t *testing.T) {
	f := newFixture(lifecycle.RestartPolicy(lifecycle.Always), lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Minute))
	r := f.start(t)
	for range 2 {
		r.end(nil)
		r = f.exec.next(t)
	}
	r.end(nil)
	assert.EqualError(t, <-f.gave, "ended 3 times within 1m0s")
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

func TestWindowLetsTheOldestGo(t *testing.T) {
	var w window
	base := time.Unix(1000, 0)
	for i := range 10 {
		w.add(base.Add(time.Duration(i) * time.Second))
	}
	w.dropUntil(base.Add(3 * time.Second))
	assert.Equal(t, 6, w.len(), "times at or before the cutoff go")
	w.dropUntil(base.Add(3 * time.Second))
	assert.Equal(t, 6, w.len(), "dropping again changes nothing")
	w.dropUntil(base.Add(7 * time.Second)) // most gone: compacts
	assert.Equal(t, 2, w.len())
	assert.Equal(t, 0, w.head)
	w.add(base.Add(20 * time.Second))
	w.dropUntil(base.Add(8 * time.Second))
	assert.Equal(t, 2, w.len())
	w.reset()
	assert.Equal(t, 0, w.len())
}

func TestStackOfFindsWrappedAndJoinedStacks(t *testing.T) {
	pe := &modes.PanicError{Value: "boom", Stack: []byte("stack")}
	assert.Equal(t, []byte("stack"), stackOf(pe))
	assert.Equal(t, []byte("stack"), stackOf(fmt.Errorf("wrapped: %w", pe)))
	assert.Equal(t, []byte("stack"), stackOf(errors.Join(errors.New("other"), fmt.Errorf("x: %w", pe))))
	assert.Nil(t, stackOf(errors.New("plain")))
	assert.Nil(t, stackOf(nil))
}
