package executor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/modes"
)

// MainLoop runs async services on one shared event loop
// (modes.MainEventLoopAsync). Whoever owns the loop runs it. Its runs can
// restart in place: see Spec.Restarter.
type MainLoop struct {
	// Loop returns the shared loop of the moment.
	Loop func() *loop.Engine
	// Clock times the grace a run's Go work gets to end after the run
	// ended by itself (see loopRun.Wait); nil means the real clock.
	Clock clockwork.Clock
}

// Launch schedules RunAsync on the shared loop and returns at once.
func (m MainLoop) Launch(spec Spec) Run {
	r := newLoopRun(spec, m.Loop(), nil, m.Clock)
	r.startAsync(&r.spec, r.view, r)
	return r
}

// ThreadLoop runs each async service on a private event loop on its own
// locked OS thread (modes.SeparateThreadAsync). Each run is a fresh thread,
// so its runs never restart in place.
type ThreadLoop struct {
	// Clock is as MainLoop's.
	Clock clockwork.Clock
}

// Launch starts the thread and its loop and returns at once.
func (t ThreadLoop) Launch(spec Spec) Run {
	spec.Restarter = nil
	el := loop.New(loop.Config{Name: spec.Name, OnStall: spec.OnStall, Spin: true})
	r := newLoopRun(spec, el, el, t.Clock)
	r.startAsync(&r.spec, r.view, r)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded with the loop
		el.Run()
	}()
	return r
}

// loopRun is a run of RunAsync on a loop. Each call of RunAsync gets a
// view of its own; with a Restarter, a view that ends by itself may be
// followed by another within the same run.
type loopRun struct {
	*run
	el       *loop.Engine
	private  *loop.Engine // nil on the shared main loop
	clock    clockwork.Clock
	spec     Spec
	respec   Spec              // spec for restarts in place
	final    chan struct{}     // closed when a view ended and no other follows
	last     *loop.View        // that view; set before final closes
	panicked *modes.PanicError // the Restarter's panic, if it had one; set before final closes

	mu      sync.Mutex // guards view, cancel and stopped
	view    *loop.View
	cancel  context.CancelFunc // of the current view's RunAsync context
	stopped bool

	probing atomic.Bool   // a probe is posted and has not run yet, as far as probe knows
	probed  chan struct{} // closed when the prober has ended; nil without one
}

func newLoopRun(spec Spec, el, private *loop.Engine, clock clockwork.Clock) *loopRun {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	r := &loopRun{run: newRun(spec.WaitForReady, nil), el: el, private: private, clock: clock, spec: spec, final: make(chan struct{})}
	r.cancel = r.run.cancel
	r.respec = spec
	r.view = r.watch(el.Scope(spec.Name))
	if spec.Watchdog > 0 && spec.Alive != nil {
		r.probed = make(chan struct{})
		go r.probe()
	}
	return r
}

// probe posts a probe among the service's callbacks every half watchdog
// period, until the run ends: the loop that runs it shows life, so a loop
// held by a callback that never returns misses its watchdog, whatever the
// service's other goroutines do. One probe at a time: a stuck loop does not
// pile them up.
func (r *loopRun) probe() {
	defer close(r.probed)
	tick := r.clock.NewTicker(max(r.spec.Watchdog/2, time.Millisecond))
	defer tick.Stop()
	var view <-chan struct{} // Done of the view the pending probe went to
	for {
		select {
		case <-r.final:
			return
		case <-tick.Chan():
		}
		if r.probing.Load() && !chans.Closed(view) {
			continue // still waiting for the loop
		}
		// None pending, or its view closed and dropped it (a restart in
		// place): post one to the view of the moment.
		r.probing.Store(true)
		v := r.current()
		done, ok := v.Done(), v.Post(func() { r.probing.Store(false); r.spec.Alive() })
		if !ok {
			r.probing.Store(false) // between views: the next tick tries the next one
		}
		view = done
	}
}

// watch has the loop tell r when v closes.
func (r *loopRun) watch(v *loop.View) *loop.View {
	v.OnClose(func() { r.ended(v) })
	return v
}

// ended runs on the loop once v has closed. However the Restarter fares,
// even if it panics, the run either goes on in a new view or ends.
func (r *loopRun) ended(v *loop.View) {
	again := false
	defer func() {
		if again {
			return
		}
		if p := recover(); p != nil {
			r.panicked = &modes.PanicError{Value: p, Stack: debug.Stack(), Func: fmt.Sprintf("%T.Again", r.spec.Restarter)}
		}
		r.last = v
		close(r.final)
	}()
	again = r.again(v)
}

// again restarts RunAsync on a fresh view when the Restarter says so. It
// only asks when nothing of v can still run: its Go work has ended. It does
// not hold mu while the Restarter decides, since that calls observers,
// which may stop the app.
func (r *loopRun) again(v *loop.View) bool {
	if r.spec.Restarter == nil || errors.Is(v.Err(), modes.ErrLoopStopped) || v.Wait(ended) != nil || r.isStopped() {
		return false
	}
	if !r.spec.Restarter.Again(r, v.Err()) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped { // a stop came while the Restarter decided: it wins
		return false
	}
	r.cancel()
	// Restarted in place only once ready (see Spec.Restarter), so the new
	// context needs no readiness callback.
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.view = r.watch(r.el.Scope(r.spec.Name))
	r.startAsync(&r.respec, r.view, r)
	return true
}

func (r *loopRun) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Wait reports how the run ended. A run asked to stop waits for its Go
// work too, and the supervisor's stop timeout detaches one whose work
// ignores its context. A run that ended by itself (a panic, an Exit) is
// reported after a grace of at most maxWorkGrace, so a crash is never
// hidden behind work that ignores its cancelled context: the grace lets
// work that honours its context end first, so none outlives the run, and
// past it the run's error says what was left running.
func (r *loopRun) Wait() error {
	<-r.final
	if r.probed != nil {
		<-r.probed
	}
	r.mu.Lock()
	r.cancel()
	stopped := r.stopped
	r.mu.Unlock()
	if r.private != nil {
		r.private.Stop()
		<-r.private.Done()
	}
	err := r.last.Err()
	if r.panicked != nil {
		err = errors.Join(err, r.panicked)
	}
	if stopped {
		_ = r.last.Wait(context.Background())
		return err
	}
	if r.awaitWork() {
		return err
	}
	left := &LeftRunningError{Service: r.spec.Name, Work: r.last.Working()}
	if len(left.Work) == 0 { // it ended just now
		return err
	}
	if err == nil {
		return left
	}
	return errors.Join(err, left)
}

// maxWorkGrace bounds the grace of a run's Go work, so a crash is reported
// promptly even when the service's stop timeout is long.
const maxWorkGrace = time.Second

// awaitWork waits for the Go work of the run's last view, up to the grace:
// the service's stop timeout, but at most maxWorkGrace. It reports whether
// the work ended.
func (r *loopRun) awaitWork() bool {
	if r.last.Wait(ended) == nil {
		return true
	}
	grace := maxWorkGrace
	if t := r.spec.StopTimeout; t > 0 {
		grace = min(t, grace)
	}
	// A timer of the run's clock, not clockwork.WithTimeout, which would
	// link the fake clock into every program.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t := r.clock.AfterFunc(grace, cancel)
	defer t.Stop()
	return r.last.Wait(ctx) == nil
}

// LeftRunningError reports Go work that a run left running when it ended:
// work started with Loop.Go that did not return once its context was
// cancelled. Go cannot end a goroutine, so the work runs on, unsupervised.
type LeftRunningError struct {
	Service string
	Work    []string // the work functions still running
}

func (e *LeftRunningError) Error() string {
	return fmt.Sprintf("service %q ended, but its Go work %s still runs: want Go work to return once its context is cancelled",
		e.Service, strings.Join(e.Work, ", "))
}

// Stack returns the current stacks of the loop's goroutine and of the
// service's Go work that has not returned: where a loop service that does
// not stop is stuck, whether in a callback that holds its loop or in work
// that ignores its context.
func (r *loopRun) Stack() []byte {
	r.mu.Lock()
	v := r.view
	r.mu.Unlock()
	return goroutineStacks(r.goid.Load(), v.Working())
}

func (r *loopRun) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.cancel()
	v := r.view
	r.mu.Unlock()
	v.Exit(nil)
}

var ended = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// PostAwaited runs fn on the run's loop, among the service's own
// callbacks, for a caller that looks for its answer (see
// loop.View.PostAwaited). It returns the view's Done: a view that closes
// drops what was posted to it and has not run. It reports false, and drops
// fn, when the view is closed.
func (r *loopRun) PostAwaited(fn func()) (<-chan struct{}, bool) {
	v := r.current()
	return v.Done(), v.PostAwaited(fn)
}

// Lag is how late the run's loop is; see loop.Engine.Lag.
func (r *loopRun) Lag() time.Duration { return r.el.Lag() }

// current is the run's view of the moment.
func (r *loopRun) current() *loop.View {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.view
}
