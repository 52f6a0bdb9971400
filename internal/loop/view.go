package loop

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/modes"
)

// View is one service's view of an Engine, and what the service sees of
// it as a modes.Loop. Everything the service
// schedules through it belongs to the service: when the view closes (Exit,
// a panic in one of its callbacks, or the Engine stopping), its timers
// and queued callbacks are dropped and its Go work is cancelled, while the
// other views on the same Engine go on.
type View struct {
	el     *Engine
	name   string
	id     uint64 // creation order, for a deterministic shutdown order
	closed atomic.Bool
	ctx    context.Context    // for Go work, made by the first Go; guarded by mu
	cancel context.CancelFunc // cancels ctx when the view closes
	done   chan struct{}      // made by Done, closed once confirmed; guarded by mu

	mu        sync.Mutex // guards ctx, cancel, done and the fields below, and the closing of closed
	err       error
	working   map[*goWork]struct{} // Go work goroutines still running, to name them
	idle      chan struct{}        // closed when working empties
	onClose   []func()
	final     bool // onClose has run or is running: a later OnClose runs at once
	confirmed bool // closing is finished: Done is (or would be) closed
}

func newView(el *Engine, name string) *View {
	return &View{el: el, name: name}
}

// Name is the service name the view was made for.
func (s *View) Name() string { return s.name }

// Post queues fn to run on the loop after everything queued before it. It
// never blocks, so it is safe from any goroutine and from a callback. It
// reports false, and drops fn, if the view is closed or the Engine is
// stopping.
func (s *View) Post(fn func()) bool {
	if s.closed.Load() || s.el.stopping.Load() {
		return false
	}
	return s.el.enqueue(taskEntry{fn: fn, scope: s})
}

// PostAwaited is Post for a poster that looks for fn's answer for a few
// microseconds before it blocks (see chans.Spinner), such as a call to the
// service or its start: a loop with Config.Spin then looks for that
// poster's next post as long before it sleeps. A poster that would sleep
// at once must use Post: the spinning loop could hold up the goroutine it
// wakes.
func (s *View) PostAwaited(fn func()) bool {
	if s.closed.Load() || s.el.stopping.Load() {
		return false
	}
	return s.el.enqueue(taskEntry{fn: fn, scope: s, kind: taskAwaited})
}

// After runs fn on the loop once d has passed. It is safe from any
// goroutine. On a closed view it returns a Timer that never fires.
func (s *View) After(d time.Duration, fn func()) modes.Timer {
	return s.startTimer(d, 0, fn)
}

// Every runs fn on the loop at d, then every d after that. A tick missed
// because the loop was busy is skipped rather than run late in a burst.
// The timer stops re-arming once fn panics or the view closes.
//
// A non-positive d is a bug that would spin the loop; instead of panicking
// at the caller, Every ends the view with an error saying so, the way a
// failing callback would, and returns a Timer that never fires.
func (s *View) Every(d time.Duration, fn func()) modes.Timer {
	if d <= 0 {
		s.Exit(fmt.Errorf("Every(%v, %s): interval must be positive", d, funcName(fn)))
		return &Timer{}
	}
	return s.startTimer(d, d, fn)
}

func (s *View) startTimer(d, period time.Duration, fn func()) *Timer {
	tm := &Timer{fn: fn, scope: s, period: period, index: -1}
	if s.closed.Load() {
		return tm
	}
	// The deadline counts from the call, not from when the loop gets to it.
	tm.deadline = s.el.clock.Now().Add(d)
	tm.state.Store(timerActive)
	if !s.el.enqueue(taskEntry{kind: taskSchedule, scope: s, timer: tm}) {
		tm.state.Store(timerStopped)
	}
	return tm
}

// Go runs work on a new goroutine, then calls then(err) back on the loop
// with what work returned. ctx is cancelled when the view closes, and then
// is dropped if the view closed in the meantime, so a service never hears
// back after it ended. A panic in work or in then ends the view with a
// *modes.PanicError naming that function. On a closed view Go does nothing. then
// may be nil.
func (s *View) Go(work func(ctx context.Context) error, then func(error)) {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return
	}
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	if len(s.working) == 0 {
		s.idle = make(chan struct{})
	}
	w := &goWork{fn: work}
	if s.working == nil {
		s.working = make(map[*goWork]struct{})
	}
	s.working[w] = struct{}{}
	ctx := s.ctx
	s.mu.Unlock()
	go s.runWork(ctx, w, then)
}

// goWork is one Go work goroutine of a view.
type goWork struct {
	fn func(ctx context.Context) error
}

func (s *View) runWork(ctx context.Context, w *goWork, then func(error)) {
	defer s.workDone(w)
	crash, err := s.callWork(ctx, w.fn)
	if crash != nil {
		s.end(crash)
		return
	}
	if then != nil {
		s.Post(func() { s.callThen(then, err) })
	}
}

// callThen calls then on the loop. A panic in it ends the view with a
// *modes.PanicError naming then itself, not the closure that carried it there.
func (s *View) callThen(then func(error), err error) {
	defer func() {
		if v := recover(); v != nil {
			s.end(&modes.PanicError{Value: v, Stack: debug.Stack(), Func: funcName(then)})
		}
	}()
	then(err)
}

func (s *View) callWork(ctx context.Context, work func(ctx context.Context) error) (crash *modes.PanicError, err error) {
	defer func() {
		if v := recover(); v != nil {
			crash = &modes.PanicError{Value: v, Stack: debug.Stack(), Func: funcName(work)}
		}
	}()
	return nil, work(ctx)
}

func (s *View) workDone(w *goWork) {
	s.mu.Lock()
	delete(s.working, w)
	if len(s.working) == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
}

// Exit ends the view with err, nil meaning a clean end. It is safe from any
// goroutine and from a callback. Only the first reason to close a view
// counts.
func (s *View) Exit(err error) { s.end(err) }

// OnClose adds fn to run on the loop goroutine when the view closes, among
// its last callbacks: after its timers are cancelled and before Done is
// closed, so fn may still touch what the view's callbacks own, without
// locks. Functions added this way run in the reverse order of their adding,
// as deferred calls do, so the framework's own, added first, runs last. A
// panic in fn becomes the view's Err, unless it already had one, and the
// next function still runs. Once the view's last callbacks have begun, fn
// runs at once on the calling goroutine instead, and a panic in it reaches
// the caller.
func (s *View) OnClose(fn func()) {
	s.mu.Lock()
	if !s.final {
		s.onClose = append(s.onClose, fn)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	fn()
}

// finishClose runs the view's OnClose function and then closes Done. It runs
// once, on the loop goroutine, or where Run finishes or Scope is refused.
func (s *View) finishClose() {
	s.mu.Lock()
	fns := s.onClose
	s.onClose, s.final = nil, true
	s.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		s.callOnClose(fns[i])
	}
	s.mu.Lock()
	if s.done != nil {
		close(s.done)
	}
	s.confirmed = true
	s.mu.Unlock()
}

func (s *View) callOnClose(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = &modes.PanicError{Value: v, Stack: debug.Stack(), Func: funcName(fn)}
			}
			s.mu.Unlock()
		}
	}()
	fn()
}

// Done is closed once the view is closed and none of its callbacks is
// running: the loop goroutine confirms it, or Run confirms it on return.
// After that, none of the view's callbacks runs again.
func (s *View) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done != nil:
		return s.done
	case s.confirmed:
		return chans.Done
	}
	s.done = make(chan struct{}) // made on demand: most views are never waited on
	return s.done
}

// Err says why the view closed: the error given to Exit (nil for Exit(nil)),
// a *modes.PanicError for a panic in one of its callbacks or Go work, or
// modes.ErrLoopStopped if the Engine stopped under it. It is nil while the
// view is open.
func (s *View) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Wait blocks until every Go work goroutine of the view has returned, so a
// service can make sure none outlives it. It returns ctx.Err() if ctx ends
// first.
func (s *View) Wait(ctx context.Context) error {
	s.mu.Lock()
	if len(s.working) == 0 {
		s.mu.Unlock()
		return nil
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Working names the functions given to Go whose goroutines have not
// returned yet, sorted, one entry per goroutine. After the view closed,
// what it lists is work that has not honoured its cancelled context (yet).
func (s *View) Working() []string {
	s.mu.Lock()
	fns := make([]func(context.Context) error, 0, len(s.working))
	for w := range s.working {
		fns = append(fns, w.fn)
	}
	s.mu.Unlock()
	out := make([]string, len(fns))
	for i, fn := range fns {
		out[i] = funcName(fn)
	}
	slices.Sort(out)
	return out
}

// Lag is the Engine's Lag; see Engine.Lag.
func (s *View) Lag() time.Duration { return s.el.Lag() }

// end closes the view with err unless it is closed already, and has the
// loop goroutine confirm it once no callback of the view is running.
func (s *View) end(err error) {
	if s.markClosed(err) {
		// If Run has finished, finish has confirmed every view already.
		s.el.enqueue(taskEntry{kind: taskClose, scope: s})
	}
}

// markClosed records why the view closed and cancels its work. It reports
// whether this call closed it.
func (s *View) markClosed(err error) bool {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return false
	}
	s.err = err
	s.closed.Store(true)
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return true
}

var _ modes.Loop = (*View)(nil)
