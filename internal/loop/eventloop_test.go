package loop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/modes"
)

// testTimeout bounds every wait, so a broken loop fails a test instead of
// hanging it; no test depends on it for timing.
const testTimeout = 10 * time.Second

// startLoop runs a new Engine on its own goroutine until the test ends.
func startLoop(t *testing.T, cfg loop.Config) *loop.Engine {
	t.Helper()
	l := loop.New(cfg)
	go l.Run()
	t.Cleanup(func() {
		l.Stop()
		waitClosed(t, l.Done())
	})
	return l
}

// fakeLoop runs an Engine without a watchdog on a fake clock, so the
// only clock waiter is the loop's own timer.
func fakeLoop(t *testing.T) (*loop.Engine, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	return startLoop(t, loop.Config{Name: "test", StallThreshold: -1, Clock: clock}), clock
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testTimeout):
		require.FailNow(t, "timed out waiting for a channel to close")
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		require.FailNow(t, "timed out waiting for a value")
		panic("unreachable")
	}
}

// flush waits until everything posted to s before it has run.
func flush(t *testing.T, s *loop.View) {
	t.Helper()
	done := make(chan struct{})
	require.True(t, s.Post(func() { close(done) }), "flush on a closed view")
	waitClosed(t, done)
}

// blockUntil waits until the fake clock has n waiters: the loop's timer and,
// where enabled, the watchdog's ticker.
func blockUntil(t *testing.T, clock *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, n))
}

// hold posts a callback that blocks the loop until the returned func is
// called, and waits until it is running. Work posted meanwhile piles up
// into one batch.
func hold(t *testing.T, s *loop.View) (release func()) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	require.True(t, s.Post(func() {
		close(started)
		<-gate
	}))
	waitClosed(t, started)
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release
}

func TestStopBeforeRun(t *testing.T) {
	l := loop.New(loop.Config{})
	s := l.Scope("svc")
	ran := false
	require.True(t, s.Post(func() { ran = true }))
	l.Stop()
	l.Stop()
	l.Run()

	waitClosed(t, l.Done())
	waitClosed(t, s.Done())
	assert.False(t, ran, "Run must return before running anything")
	assert.ErrorIs(t, s.Err(), modes.ErrLoopStopped)
}

func TestRunTwiceReturnsAtOnce(t *testing.T) {
	l := startLoop(t, loop.Config{})
	flush(t, l.Scope("svc"))
	l.Run() // would block forever if it ran a second loop
}

func TestStopFromCallback(t *testing.T) {
	l := loop.New(loop.Config{})
	s := l.Scope("svc")
	var ran []string
	s.Post(func() { ran = append(ran, "first"); l.Stop() })
	s.Post(func() { ran = append(ran, "second") })
	l.Run()

	assert.Equal(t, []string{"first"}, ran, "Run returns after the callback in progress")
	waitClosed(t, s.Done())
	assert.ErrorIs(t, s.Err(), modes.ErrLoopStopped)
}

func TestRunReturnClosesEveryView(t *testing.T) {
	l := loop.New(loop.Config{})
	open, exited := l.Scope("open"), l.Scope("exited")
	fail := errors.New("boom")
	exited.Exit(fail)
	withTimer := l.Scope("timer")
	tm := withTimer.After(time.Hour, func() {})
	withWork := l.Scope("work")
	workCtx := make(chan context.Context, 1)
	withWork.Go(func(ctx context.Context) error {
		workCtx <- ctx
		<-ctx.Done()
		return ctx.Err()
	}, func(error) { t.Error("then ran after the loop stopped") })
	go l.Run()
	flush(t, open)
	l.Stop()
	waitClosed(t, l.Done())

	for _, s := range []*loop.View{open, exited, withTimer, withWork} {
		waitClosed(t, s.Done())
	}
	assert.ErrorIs(t, open.Err(), modes.ErrLoopStopped)
	assert.ErrorIs(t, withTimer.Err(), modes.ErrLoopStopped)
	assert.Equal(t, fail, exited.Err(), "the first reason wins")
	assert.False(t, tm.Stop(), "the timer was cancelled with its view")
	assert.False(t, open.Post(func() {}))
	assert.ErrorIs(t, receive(t, workCtx).Err(), context.Canceled)
	require.NoError(t, withWork.Wait(context.Background()))

	late := l.Scope("late")
	waitClosed(t, late.Done())
	assert.ErrorIs(t, late.Err(), modes.ErrLoopStopped)
	assert.False(t, late.Post(func() {}))
}

func TestCallbacksNeverOverlap(t *testing.T) {
	l, clock := fakeLoop(t)
	const views, posters, posts = 3, 4, 300
	var (
		running atomic.Bool
		total   int // touched only by callbacks: the race detector checks that
		wg      sync.WaitGroup
	)
	enter := func() {
		assert.True(t, running.CompareAndSwap(false, true), "two callbacks at once")
		total++
		running.Store(false)
	}
	scopes := make([]*loop.View, views)
	for i := range scopes {
		scopes[i] = l.Scope(fmt.Sprintf("svc%d", i))
		scopes[i].Every(time.Millisecond, enter)
	}
	for p := range posters {
		wg.Go(func() {
			for i := range posts {
				s := scopes[(p+i)%views]
				s.Post(enter)
				if i%50 == 0 {
					s.After(0, enter)
				}
			}
		})
	}
	for range 20 {
		clock.Advance(time.Millisecond)
	}
	wg.Wait()
	for _, s := range scopes {
		flush(t, s)
	}
	done := make(chan int)
	scopes[0].Post(func() { done <- total })
	assert.GreaterOrEqual(t, receive(t, done), posters*posts)
}

func TestPanicClosesOnlyItsView(t *testing.T) {
	l := startLoop(t, loop.Config{})
	bad, good := l.Scope("bad"), l.Scope("good")
	release := hold(t, good)
	var ran []string
	bad.Post(func() { panic("kaboom") })
	bad.Post(func() { ran = append(ran, "bad after panic") })
	good.Post(func() { ran = append(ran, "good in same batch") })
	release()

	waitClosed(t, bad.Done())
	flush(t, good)
	assert.Equal(t, []string{"good in same batch"}, ran)
	var pe *modes.PanicError
	require.ErrorAs(t, bad.Err(), &pe)
	assert.Equal(t, "kaboom", pe.Value)
	assert.Contains(t, pe.Func, "TestPanicClosesOnlyItsView")
	assert.Contains(t, string(pe.Stack), "TestPanicClosesOnlyItsView")
	assert.Contains(t, pe.Error(), "kaboom")
	assert.Contains(t, pe.Error(), pe.Func)
	assert.NotContains(t, pe.Error(), "goroutine", "the stack stays out of Error")
	assert.False(t, bad.Post(func() {}))
	assert.NoError(t, good.Err())
}

func TestPanicErrorUnwrapsErrorValues(t *testing.T) {
	tests := []struct {
		give any
		want error
	}{
		{give: context.DeadlineExceeded, want: context.DeadlineExceeded},
		{give: fmt.Errorf("wrapped: %w", modes.ErrLoopStopped), want: modes.ErrLoopStopped},
		{give: "text", want: nil},
	}
	for _, tt := range tests {
		pe := &modes.PanicError{Value: tt.give, Func: "pkg.f"}
		assert.Equal(t, fmt.Sprintf("panic in pkg.f: %v", tt.give), pe.Error())
		if tt.want != nil {
			assert.ErrorIs(t, pe, tt.want)
		} else {
			assert.NoError(t, errors.Unwrap(pe))
		}
	}
}

func TestLag(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	assert.Zero(t, l.Lag())

	fired := make(chan struct{})
	s.After(time.Second, func() { close(fired) })
	blockUntil(t, clock, 1)
	clock.Advance(3 * time.Second)
	waitClosed(t, fired)
	assert.Equal(t, 2*time.Second, l.Lag(), "the timer ran 2s after its deadline")

	release := hold(t, s)
	// Without a watchdog, a callback's running time counts from the first
	// Lag call that sees it.
	assert.Equal(t, 2*time.Second, l.Lag())
	clock.Advance(5 * time.Second)
	assert.Equal(t, 5*time.Second, s.Lag(), "a running callback raises the lag")
	release()
	flush(t, s)
	assert.Equal(t, 2*time.Second, l.Lag(), "back to the last timer's lateness")
}

// tickedClock is a fake clock whose tickers tick only when the test sends
// on ticks. The channel is unbuffered, so once a send returns the watchdog
// has finished with every earlier tick.
type tickedClock struct {
	*clockwork.FakeClock
	ticks chan time.Time
}

func newTickedClock() tickedClock {
	return tickedClock{FakeClock: clockwork.NewFakeClock(), ticks: make(chan time.Time)}
}

func (c tickedClock) NewTicker(time.Duration) clockwork.Ticker { return manualTicker(c.ticks) }

// tick moves the clock by d and has the watchdog look at the loop before
// the clock moves again: it ticks twice, and the second send returns only
// once the watchdog is done with the first. The second look, at the same
// time or later, changes nothing a test relies on.
func (c tickedClock) tick(t *testing.T, d time.Duration) {
	t.Helper()
	c.Advance(d)
	for range 2 {
		select {
		case c.ticks <- c.Now():
		case <-time.After(testTimeout):
			require.FailNow(t, "the watchdog took no tick")
		}
	}
}

type manualTicker chan time.Time

func (t manualTicker) Chan() <-chan time.Time { return t }
func (manualTicker) Reset(time.Duration)      {}
func (manualTicker) Stop()                    {}

func TestStallWatchdog(t *testing.T) {
	const threshold = 100 * time.Millisecond
	clock := newTickedClock()
	stalls := make(chan loop.Stall, 10)
	l := startLoop(t, loop.Config{
		Name:           "main",
		StallThreshold: threshold,
		OnStall:        func(s loop.Stall) { stalls <- s },
		Clock:          clock,
	})
	s := l.Scope("svc")

	release := hold(t, s)
	clock.tick(t, threshold/2) // first sees the callback
	clock.tick(t, threshold/2) // seen running for 50ms
	assert.Empty(t, stalls)
	clock.tick(t, threshold/2) // seen running for 100ms: report
	got := receive(t, stalls)
	assert.Equal(t, loop.Stall{Loop: "main", Service: "svc", Func: got.Func, Running: threshold}, got)
	assert.Contains(t, got.Func, "loop_test.hold")

	for range 5 {
		clock.tick(t, threshold/2)
	}
	assert.Empty(t, stalls, "one report per callback")

	release()
	flush(t, s)
	require.Eventually(t, func() bool { return loop.Idle(l) }, testTimeout, time.Millisecond)
	for range 3 {
		clock.tick(t, threshold/2)
	}
	assert.Empty(t, stalls, "an idle loop does not stall")

	second := hold(t, s)
	for range 3 {
		clock.tick(t, threshold/2)
	}
	assert.Equal(t, "svc", receive(t, stalls).Service, "the next stuck callback is reported too")
	second()
}

func TestStallNamesTimerCallback(t *testing.T) {
	clock := newTickedClock()
	stalls := make(chan loop.Stall, 1)
	l := startLoop(t, loop.Config{
		StallThreshold: time.Second,
		OnStall:        func(s loop.Stall) { stalls <- s },
		Clock:          clock,
	})
	s := l.Scope("ticker")
	gate, started := make(chan struct{}), make(chan struct{})
	s.After(time.Second, func() { close(started); <-gate })
	blockUntil(t, clock.FakeClock, 1)
	clock.Advance(time.Second)
	waitClosed(t, started)
	for range 3 {
		clock.tick(t, time.Second/2)
	}
	close(gate)
	got := receive(t, stalls)
	assert.Equal(t, "ticker", got.Service)
	assert.True(t, strings.HasPrefix(got.Func, "github.com/hostfx/hostfx/internal/loop_test.TestStallNamesTimerCallback"), got.Func)
}

// A spinning loop behaves as any other: every post runs, in order, awaited
// or not, a timer fires, and Stop ends it whether it spins or sleeps.
func TestSpinningLoop(t *testing.T) {
	l := startLoop(t, loop.Config{Spin: true, StallThreshold: -1})
	v := l.Scope("spinner")
	const calls = 2000
	got := make(chan int, 1)
	next := 0
	for i := range calls {
		post := v.Post
		if i%2 == 0 {
			post = v.PostAwaited
		}
		require.True(t, post(func() {
			assert.Equal(t, i, next, "posts run in order")
			next++
			if next == calls {
				got <- next
			}
		}))
		if i%100 == 0 { // a round trip now and then, while it may spin
			flush(t, v)
		}
	}
	assert.Equal(t, calls, receive(t, got))
	fired := make(chan int, 1)
	v.After(time.Millisecond, func() { fired <- 1 })
	assert.Equal(t, 1, receive(t, fired))

	stopped := loop.New(loop.Config{Spin: true, StallThreshold: -1})
	go stopped.Run()
	x := stopped.Scope("x")
	answered := make(chan struct{})
	x.PostAwaited(func() { close(answered) })
	waitClosed(t, answered) // it has just answered an awaited post, so it spins
	stopped.Stop()
	waitClosed(t, stopped.Done())
}

// Ping answers once the loop has run what was posted before it; a loop
// stuck in a callback does not answer, and the error names the callback.
func TestPing(t *testing.T) {
	assert.NoError(t, loop.New(loop.Config{}).Ping(context.Background()), "a loop that has not started holds nothing up")

	l := startLoop(t, loop.Config{Name: "main"})
	require.NoError(t, l.Ping(context.Background()))

	v := l.Scope("sleepy")
	release := make(chan struct{})
	entered := make(chan struct{})
	v.Post(func() { close(entered); <-release })
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The watchdog publishes the running batch; wait until it has seen the
	// callback run, so the error can name it.
	require.Eventually(t, func() bool { return l.Lag() > 0 }, testTimeout, time.Millisecond)
	err := l.Ping(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), `event loop "main": no answer: a callback of "sleepy", github.com/hostfx/hostfx/internal/loop_test.TestPing.func`)
	close(release)
	require.NoError(t, l.Ping(context.Background()))
}
