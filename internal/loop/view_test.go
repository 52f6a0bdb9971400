package loop_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/modes"
)

func TestLoopName(t *testing.T) {
	l := loop.New(loop.Config{})
	assert.Equal(t, "svc", l.Scope("svc").Name())
}

func TestPostRunsInOrder(t *testing.T) {
	l := startLoop(t, loop.Config{})
	a, b := l.Scope("a"), l.Scope("b")
	var got []int
	for i := range 100 {
		s := a
		if i%3 == 0 {
			s = b
		}
		require.True(t, s.Post(func() { got = append(got, i) }))
	}
	flush(t, a)
	want := make([]int, 100)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, got)
}

func TestPostFromManyGoroutinesKeepsEachOrder(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	const posters, posts = 8, 1000
	next := make([]int, posters) // touched only on the loop
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := range posts {
				s.Post(func() {
					assert.Equal(t, next[p], i, "poster %d out of order", p)
					next[p] = i + 1
				})
			}
		})
	}
	wg.Wait()
	flush(t, s)
	for p := range posters {
		assert.Equal(t, posts, next[p])
	}
}

func TestPostFromCallbackNeverBlocks(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	done := make(chan int)
	count := 0
	var step func()
	step = func() {
		// Many posts from one callback: an unbounded queue takes them all.
		for range 10 {
			s.Post(func() { count++ })
		}
		if count < 10_000 {
			s.Post(step)
			return
		}
		done <- count
	}
	s.Post(step)
	assert.GreaterOrEqual(t, receive(t, done), 10_000)
}

func TestPostAllocatesNothing(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	fn := func() {}
	for range 10_000 { // grow both queue buffers
		s.Post(fn)
	}
	flush(t, s)
	allocs := testing.AllocsPerRun(10_000, func() { s.Post(fn) })
	assert.Zero(t, allocs)
}

func TestExitErr(t *testing.T) {
	first, second := errors.New("first"), errors.New("second")
	tests := []struct {
		name string
		give []error
		want error
	}{
		{name: "clean", give: []error{nil}, want: nil},
		{name: "error", give: []error{first}, want: first},
		{name: "first reason wins", give: []error{first, second, nil}, want: first},
		{name: "clean first wins", give: []error{nil, second}, want: nil},
	}
	l := startLoop(t, loop.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := l.Scope(tt.name)
			assert.NoError(t, s.Err(), "open views have no error")
			for _, err := range tt.give {
				s.Exit(err)
			}
			waitClosed(t, s.Done())
			assert.Equal(t, tt.want, s.Err())
			assert.False(t, s.Post(func() {}))
		})
	}
}

func TestExitDropsQueuedCallbacks(t *testing.T) {
	l := startLoop(t, loop.Config{})
	other, s := l.Scope("other"), l.Scope("svc")
	release := hold(t, other)
	ran := false
	require.True(t, s.Post(func() { ran = true }))
	s.Exit(nil)
	release()
	waitClosed(t, s.Done())
	flush(t, other)
	assert.False(t, ran)
}

func TestExitFromOwnCallback(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	release := hold(t, s)
	var ran []string
	s.Post(func() {
		ran = append(ran, "exiting")
		s.Exit(nil)
		assert.False(t, s.Post(func() { ran = append(ran, "posted after exit") }))
		ran = append(ran, "rest of the callback")
	})
	s.Post(func() { ran = append(ran, "queued before exit") })
	release()
	waitClosed(t, s.Done())
	assert.Equal(t, []string{"exiting", "rest of the callback"}, ran)
}

func TestDoneWaitsForRunningCallback(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	release := hold(t, s)
	s.Exit(nil)
	select {
	case <-s.Done():
		t.Fatal("Done closed while a callback of the view is running")
	default:
	}
	release()
	waitClosed(t, s.Done())
}

func TestAfter(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	fired := make(chan struct{})
	tm := s.After(time.Second, func() { close(fired) })
	blockUntil(t, clock, 1)

	clock.Advance(time.Second - 1)
	flush(t, s)
	select {
	case <-fired:
		t.Fatal("fired before its deadline")
	default:
	}
	clock.Advance(1)
	waitClosed(t, fired)
	flush(t, s)
	assert.False(t, tm.Stop(), "a timer that ran cannot be stopped")
}

func TestTimersRunByDeadlineThenScheduleOrder(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	rng := rand.New(rand.NewPCG(1, 2))
	type fired struct {
		delay time.Duration
		n     int
	}
	var got, want []fired
	var stopped []modes.Timer
	release := hold(t, s) // so no timer fires before it could be stopped
	for n := range 200 {
		delay := time.Duration(rng.IntN(20)) * time.Millisecond
		tm := s.After(delay, func() { got = append(got, fired{delay, n}) })
		if n%7 == 0 {
			stopped = append(stopped, tm)
			continue
		}
		want = append(want, fired{delay, n})
	}
	for _, tm := range stopped {
		assert.True(t, tm.Stop())
		assert.False(t, tm.Stop(), "stopped twice")
	}
	release()
	slices.SortStableFunc(want, func(a, b fired) int { return int(a.delay - b.delay) })

	for range 20 {
		clock.Advance(time.Millisecond)
		flush(t, s) // due timers run before posted callbacks
	}
	assert.Equal(t, want, got)
}

func TestTimerStopFromOtherGoroutine(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	tm := s.After(time.Second, func() { t.Error("stopped timer ran") })
	blockUntil(t, clock, 1)
	stopped := make(chan bool)
	go func() { stopped <- tm.Stop() }()
	assert.True(t, receive(t, stopped))
	clock.Advance(time.Hour)
	flush(t, s)
	var zero loop.Timer
	assert.False(t, zero.Stop(), "the zero Timer was never scheduled")
}

func TestEvery(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	ticks := make(chan time.Time, 10)
	tm := s.Every(time.Second, func() {
		ticks <- clock.Now()
	})
	start := clock.Now()

	blockUntil(t, clock, 1)
	clock.Advance(time.Second)
	assert.Equal(t, start.Add(time.Second), receive(t, ticks))

	blockUntil(t, clock, 1)
	clock.Advance(time.Second)
	assert.Equal(t, start.Add(2*time.Second), receive(t, ticks))

	// Three and a half periods late: one tick, then back on the grid.
	blockUntil(t, clock, 1)
	clock.Advance(3500 * time.Millisecond)
	assert.Equal(t, start.Add(5500*time.Millisecond), receive(t, ticks))
	flush(t, s)
	assert.Empty(t, ticks, "missed ticks are skipped, not bunched")
	assert.Equal(t, 2500*time.Millisecond, l.Lag(), "it ran at 5.5s for 3s")

	blockUntil(t, clock, 1)
	clock.Advance(500 * time.Millisecond)
	assert.Equal(t, start.Add(6*time.Second), receive(t, ticks))

	assert.True(t, tm.Stop())
	clock.Advance(time.Hour)
	flush(t, s)
	assert.Empty(t, ticks)
	assert.False(t, tm.Stop())
}

func TestEveryStoppedFromItsCallback(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	ticks := make(chan int, 10)
	n, stopped := 0, false
	var tm modes.Timer
	tm = s.Every(time.Second, func() {
		n++
		if n == 2 {
			stopped = tm.Stop()
		}
		ticks <- n
	})
	for want := 1; want <= 2; want++ {
		blockUntil(t, clock, 1)
		clock.Advance(time.Second)
		assert.Equal(t, want, receive(t, ticks))
	}
	clock.Advance(time.Hour)
	flush(t, s)
	assert.True(t, stopped)
	assert.Empty(t, ticks)
}

func TestEveryPanicEndsView(t *testing.T) {
	l, clock := fakeLoop(t)
	s := l.Scope("svc")
	tm := s.Every(time.Second, func() { panic("tick") })
	blockUntil(t, clock, 1)
	clock.Advance(time.Second)
	waitClosed(t, s.Done())
	var pe *modes.PanicError
	require.ErrorAs(t, s.Err(), &pe)
	assert.Equal(t, "tick", pe.Value)
	assert.False(t, tm.Stop(), "it will not run again")
}

func TestEveryNonPositiveIntervalEndsView(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	tm := s.Every(0, func() {})
	waitClosed(t, s.Done())
	require.Error(t, s.Err())
	assert.Contains(t, s.Err().Error(), "interval must be positive")
	assert.False(t, tm.Stop())
}

func TestClosedViewReleasesItsTimers(t *testing.T) {
	l, clock := fakeLoop(t)
	s, other := l.Scope("svc"), l.Scope("other")
	released := make(chan struct{}, 2)
	scheduleHeavy(s, released)
	stopped := scheduleHeavy(other, released)
	blockUntil(t, clock, 1)

	s.Exit(nil)
	waitClosed(t, s.Done())
	assert.True(t, stopped.Stop())
	flush(t, other)

	// A timer left in the heap would keep its callback, and what it holds,
	// alive until its deadline; both are gone long before that.
	for range 2 {
		require.Eventually(t, func() bool {
			runtime.GC()
			select {
			case <-released:
				return true
			default:
				return false
			}
		}, testTimeout, time.Millisecond)
	}
}

// scheduleHeavy schedules a far timer holding memory that reports on
// released when it is collected.
func scheduleHeavy(s *loop.View, released chan<- struct{}) modes.Timer {
	payload := new([1 << 16]byte)
	runtime.AddCleanup(payload, func(ch chan<- struct{}) { ch <- struct{}{} }, released)
	return s.After(time.Hour, func() { payload[0]++ })
}

func TestGo(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	fail := errors.New("work failed")
	got := make(chan error)
	s.Go(func(ctx context.Context) error {
		assert.NoError(t, ctx.Err())
		return fail
	}, func(err error) { got <- err })
	assert.Equal(t, fail, receive(t, got))
	require.NoError(t, s.Wait(context.Background()))
	assert.NoError(t, s.Err(), "a failing Go work does not end the view")
}

func TestGoCancelledWhenViewCloses(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	started := make(chan struct{})
	s.Go(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, func(error) { t.Error("then ran after the view closed") })
	waitClosed(t, started)
	s.Exit(nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, s.Wait(ctx))
	waitClosed(t, s.Done())
	other := l.Scope("other")
	flush(t, other)

	ran := false
	s.Go(func(context.Context) error { ran = true; return nil }, nil)
	require.NoError(t, s.Wait(context.Background()))
	assert.False(t, ran, "Go on a closed view does nothing")
}

func TestWaitGivesUpWithContext(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	gate := make(chan struct{})
	s.Go(func(context.Context) error { <-gate; return nil }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Wait(ctx), context.Canceled)
	close(gate)
	require.NoError(t, s.Wait(context.Background()))
}

func TestGoPanicEndsView(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	s.Go(func(context.Context) error { panic("in work") }, func(error) { t.Error("then ran after a panic") })
	waitClosed(t, s.Done())
	var pe *modes.PanicError
	require.ErrorAs(t, s.Err(), &pe)
	assert.Equal(t, "in work", pe.Value)
	assert.Contains(t, pe.Func, "TestGoPanicEndsView")
	require.NoError(t, s.Wait(context.Background()))
}

func TestOnCloseRunsOnTheLoopAfterTheLastCallback(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	var log []string // touched only on the loop
	s.OnClose(func() { log = append(log, "added first, runs last") })
	s.OnClose(func() { panic("a panic does not keep the others from running") })
	s.OnClose(func() { log = append(log, "closed") })
	s.Post(func() { log = append(log, "callback") })
	s.Post(func() { s.Exit(nil) })
	s.Post(func() { log = append(log, "after exit") })
	<-s.Done()
	assert.Equal(t, []string{"callback", "closed", "added first, runs last"}, log)
	var pe *modes.PanicError
	require.ErrorAs(t, s.Err(), &pe)
}

func TestOnClosePanicBecomesErr(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	s.OnClose(func() { panic("cleanup failed") })
	s.Exit(nil)
	<-s.Done()
	var pe *modes.PanicError
	require.ErrorAs(t, s.Err(), &pe)
	assert.Equal(t, "cleanup failed", pe.Value)

	failed := errors.New("failed")
	s2 := l.Scope("svc2")
	s2.OnClose(func() { panic("cleanup failed") })
	s2.Exit(failed)
	<-s2.Done()
	assert.Same(t, failed, s2.Err(), "the first reason to close wins")
}

func TestOnCloseAfterDoneRunsAtOnce(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	s.Exit(nil)
	<-s.Done()
	ran := false
	s.OnClose(func() { ran = true })
	assert.True(t, ran)
}

func TestOnCloseRunsWhenTheLoopStops(t *testing.T) {
	l := loop.New(loop.Config{})
	s := l.Scope("svc")
	var closedWith error
	s.OnClose(func() { closedWith = s.Err() })
	go l.Run()
	l.Stop()
	<-s.Done()
	assert.ErrorIs(t, closedWith, modes.ErrLoopStopped)

	late := l.Scope("late") // born closed: the loop has finished
	ran := false
	late.OnClose(func() { ran = true })
	assert.True(t, ran)
}

// thenPanics is a named continuation, so the test can look for its name.
func thenPanics(error) { panic("in then") }

func TestThenPanicNamesTheUsersFunction(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	s.Go(func(context.Context) error { return nil }, thenPanics)
	waitClosed(t, s.Done())
	var pe *modes.PanicError
	require.ErrorAs(t, s.Err(), &pe)
	assert.Equal(t, "in then", pe.Value)
	assert.Equal(t, "github.com/hostfx/hostfx/internal/loop_test.thenPanics", pe.Func, "the panic names the user's continuation")
	assert.Contains(t, string(pe.Stack), "thenPanics", "the stack is the panic's")
	other := l.Scope("other")
	flush(t, other) // the loop goes on serving the others
}

// workIgnoringCtx is named, so the test can look for its name.
func workIgnoringCtx(gate chan struct{}) func(context.Context) error {
	return func(context.Context) error { <-gate; return nil }
}

func TestWorkingNamesTheRunningGoWork(t *testing.T) {
	l := startLoop(t, loop.Config{})
	s := l.Scope("svc")
	assert.Empty(t, s.Working())
	gate := make(chan struct{})
	s.Go(workIgnoringCtx(gate), nil)
	s.Go(workIgnoringCtx(gate), nil)
	s.Exit(nil)
	waitClosed(t, s.Done())
	working := s.Working()
	require.Len(t, working, 2, "work that ignores its cancelled context is listed")
	for _, name := range working {
		assert.Contains(t, name, "workIgnoringCtx")
	}
	close(gate)
	require.NoError(t, s.Wait(context.Background()))
	assert.Empty(t, s.Working())
}
