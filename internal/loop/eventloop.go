package loop

import (
	"cmp"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/modes"
)

// defaultStallThreshold is long enough to ignore GC pauses and short enough
// that a stuck callback is reported while someone still cares.
const defaultStallThreshold = 100 * time.Millisecond

// Config configures an Engine. The zero value is usable.
type Config struct {
	Name           string          // for stall reports, e.g. "main" or a service name
	StallThreshold time.Duration   // 0 means 100ms; negative disables the watchdog
	OnStall        func(Stall)     // called from the watchdog goroutine; nil means ignore
	Clock          clockwork.Clock // nil means the real clock
	// Spin makes the loop look for more posted work for a few
	// microseconds after it ran a task posted with PostAwaited, before it
	// sleeps. It is for a loop whose goroutine is locked to its thread,
	// which sleeps in the kernel, so that each post would wake it at tens
	// of microseconds.
	Spin bool
}

// Engine runs callbacks one at a time, in order, on the goroutine that
// calls Run, so services sharing it need no locks between their callbacks.
// Services never hold the Engine itself: each gets a view from Scope,
// so one service ending or crashing cancels only its own work.
type Engine struct {
	name      string
	clock     clockwork.Clock
	threshold time.Duration // > 0 when the watchdog runs
	onStall   func(Stall)
	spin      bool

	// What Post touches, kept off the cache lines of the loop's
	// per-callback stores so those do not slow posters.
	mu       sync.Mutex // guards queue, views, nextView, finished
	queue    taskQueue
	views    map[*View]struct{} // open or not yet confirmed closed
	nextView uint64
	finished bool
	wake     chan struct{} // capacity 1: "the queue or stopping changed"
	stopping atomic.Bool
	_        [64]byte

	// Owned by the loop goroutine.
	spent      *taskChunk // run in the last turn, given back to queue in the next
	spentLast  *taskChunk
	nspent     int
	due        []taskEntry // reused for the timers due in a turn
	timers     timerHeap
	timerSeq   uint64 // orders timers with equal deadlines
	clockTimer clockwork.Timer
	armed      bool      // clockTimer is set for armedAt
	armedAt    time.Time // deadline clockTimer is set for
	seq        uint64    // tasks started so far
	pinger     *View     // the scope of Ping's tasks; never closed
	awaited    bool      // this turn ran a task whose poster looks for its answer

	// Published by the loop goroutine, read by any.
	progress   atomic.Uint64 // seq of the task running or last run
	batchFirst atomic.Uint64 // seq of the first task of the running batch; 0 when idle
	lateness   atomic.Int64  // of the most recently fired timer
	started    atomic.Bool   // Run has been called
	done       chan struct{}

	// When the running task was first seen, by the watchdog or by Lag.
	seenMu  sync.Mutex
	seenSeq uint64
	seenAt  time.Time

	// The batch being run, so the watchdog can name a stalled callback.
	wdMu    sync.Mutex
	wdBatch []taskEntry
	wdBase  uint64 // seq of wdBatch[0]
}

// New returns an Engine that does nothing until Run is called.
func New(cfg Config) *Engine {
	clock := cfg.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	threshold := cfg.StallThreshold
	if threshold == 0 {
		threshold = defaultStallThreshold
	}
	l := &Engine{
		name:      cfg.Name,
		clock:     clock,
		threshold: max(threshold, 0),
		onStall:   cfg.OnStall,
		spin:      cfg.Spin,
		views:     make(map[*View]struct{}),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	l.pinger = newView(l, "hostfx")
	return l
}

// Run runs callbacks on the calling goroutine until Stop, so the caller
// decides whether that goroutine is locked to an OS thread. When Run
// returns, every view still open is closed with modes.ErrLoopStopped, and no
// goroutine Run started is left. Run runs at most once; later calls return
// at once.
func (l *Engine) Run() {
	if !l.started.CompareAndSwap(false, true) {
		return
	}
	stopWatchdog := l.startWatchdog()
	defer l.finish(stopWatchdog)
	for !l.stopping.Load() {
		due, posted := l.take()
		if len(due) == 0 && posted == nil {
			// A loop that answered a poster who looks for its answer is
			// likely to get more soon: a caller making call after call, or
			// a start of service after service (see Config.Spin).
			if !l.awaited || !l.spin || !chans.Spin(l.woken) {
				l.wait()
			}
			l.awaited = false
			continue
		}
		l.awaited = false
		l.runTasks(due)
		for c := posted; c != nil && !l.stopping.Load(); c = c.next {
			l.runTasks(c.tasks[:c.n])
		}
		l.recycle(due, posted)
	}
}

// Stop makes Run return once the callback in progress has returned. It is
// safe from any goroutine, from a callback, more than once, and before Run
// (which then returns at once).
func (l *Engine) Stop() {
	if l.stopping.CompareAndSwap(false, true) {
		l.signal()
	}
}

// Done is closed after Run has returned.
func (l *Engine) Done() <-chan struct{} { return l.done }

// Scope returns a new view of the loop for the service called name. After
// Run has returned, the view is born closed with modes.ErrLoopStopped.
func (l *Engine) Scope(name string) *View {
	s := newView(l, name)
	l.mu.Lock()
	if l.finished {
		l.mu.Unlock()
		s.markClosed(modes.ErrLoopStopped)
		s.finishClose()
		return s
	}
	l.nextView++
	s.id = l.nextView
	l.views[s] = struct{}{}
	l.mu.Unlock()
	return s
}

// enqueue appends t to the queue and wakes the loop if it may be idle. It
// reports false once Run has finished.
func (l *Engine) enqueue(t taskEntry) bool {
	l.mu.Lock()
	if l.finished {
		l.mu.Unlock()
		return false
	}
	first := l.queue.push(t)
	l.mu.Unlock()
	if first {
		l.signal()
	}
	return true
}

// woken reports, without blocking, whether the loop was signalled, and
// takes the signal if so.
func (l *Engine) woken() bool {
	if len(l.wake) == 0 {
		return false
	}
	<-l.wake
	return true
}

// signal wakes the loop without blocking; one pending wake-up is enough
// because the loop drains the whole queue each time.
func (l *Engine) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take hands the chunks run last turn back to the queue, takes all that
// is queued, and collects the timers that are due, which run first: they
// have waited since their deadline. It reads the clock only when there are
// timers.
func (l *Engine) take() (due []taskEntry, posted *taskChunk) {
	l.mu.Lock()
	l.queue.giveBack(l.spent, l.spentLast, l.nspent)
	posted = l.queue.takeAll()
	if posted == nil {
		l.queue.trim()
	}
	l.mu.Unlock()
	l.spent, l.spentLast, l.nspent = nil, nil, 0
	due = l.due
	if len(l.timers) > 0 {
		now := l.clock.Now()
		for len(l.timers) > 0 && !l.timers[0].deadline.After(now) {
			tm := l.timers.popMin()
			due = append(due, taskEntry{kind: taskFire, scope: tm.scope, timer: tm})
		}
	}
	return due, posted
}

// recycle clears what ran, so finished callbacks can be collected, and
// keeps the buffers for reuse.
func (l *Engine) recycle(due []taskEntry, posted *taskChunk) {
	clear(due)
	l.due = due[:0]
	l.spent = posted
	for c := posted; c != nil; c = c.next {
		clear(c.tasks[:c.n])
		c.n = 0
		l.spentLast = c
		l.nspent++
	}
}

// wait blocks until something is posted, Stop is called, or the earliest
// timer is due. It reads the clock only when there are timers, and then
// re-arms the one clock timer only when the earliest deadline changed.
func (l *Engine) wait() {
	if len(l.timers) == 0 {
		if l.armed {
			l.clockTimer.Stop()
			l.armed = false
		}
		<-l.wake
		return
	}
	next := l.timers[0].deadline
	if !l.armed || !next.Equal(l.armedAt) {
		d := next.Sub(l.clock.Now())
		if l.clockTimer == nil {
			l.clockTimer = l.clock.NewTimer(d)
		} else {
			l.clockTimer.Reset(d)
		}
		l.armed, l.armedAt = true, next
	}
	select {
	case <-l.wake:
	case <-l.clockTimer.Chan():
		// Possibly a stale tick from a fake clock; take re-checks deadlines.
		l.armed = false
	}
}

// runTasks runs every task of batch. It tells Lag and the watchdog what
// runs with one store per task; the batch itself is published once.
func (l *Engine) runTasks(batch []taskEntry) {
	if len(batch) == 0 {
		return
	}
	watched := l.threshold > 0
	if watched {
		l.wdMu.Lock()
		l.wdBatch, l.wdBase = batch, l.seq+1
		l.wdMu.Unlock()
	}
	l.batchFirst.Store(l.seq + 1)
	for i := 0; i < len(batch); {
		i = l.runFrom(batch, i)
	}
	l.batchFirst.Store(0)
	if watched {
		l.wdMu.Lock()
		l.wdBatch = nil
		l.wdMu.Unlock()
	}
}

// runFrom runs batch from index i and returns where to go on: the end, or
// the task after one that panicked. A single deferred recover covers the
// whole run, so a callback costs no defer of its own.
func (l *Engine) runFrom(batch []taskEntry, i int) (next int) {
	defer func() {
		if v := recover(); v != nil {
			l.recovered(&batch[next], v, debug.Stack())
			next++
		}
	}()
	for next = i; next < len(batch); next++ {
		if l.stopping.Load() {
			return len(batch)
		}
		l.seq++
		l.progress.Store(l.seq)
		l.runTask(&batch[next])
	}
	return next
}

func (l *Engine) runTask(t *taskEntry) {
	switch t.kind {
	case taskCall:
		if !t.scope.closed.Load() {
			t.fn()
		}
	case taskAwaited:
		l.awaited = true
		if !t.scope.closed.Load() {
			t.fn()
		}
	case taskFire:
		l.fire(t.timer)
	case taskSchedule:
		l.schedule(t.timer)
	case taskUnschedule:
		if t.timer.index >= 0 {
			l.timers.remove(t.timer.index)
		}
	case taskClose:
		l.confirmClose(t.scope)
	}
}

// recovered closes the view whose callback panicked; the loop goes on
// serving the others.
func (l *Engine) recovered(t *taskEntry, v any, stack []byte) {
	if t.timer != nil {
		t.timer.state.Store(timerStopped)
	}
	t.scope.end(&modes.PanicError{Value: v, Stack: stack, Func: funcName(t.userFunc())})
}

// confirmClose finishes closing s on the loop goroutine, where none of its
// callbacks can be running.
func (l *Engine) confirmClose(s *View) {
	l.timers.removeScope(s)
	l.mu.Lock()
	_, open := l.views[s]
	delete(l.views, s)
	l.mu.Unlock()
	if open {
		s.finishClose()
	}
}

// finish runs when Run returns: it stops the watchdog and the clock timer,
// then closes every view still open, oldest first.
func (l *Engine) finish(stopWatchdog func()) {
	stopWatchdog()
	if l.clockTimer != nil {
		l.clockTimer.Stop()
	}
	for _, tm := range l.timers {
		tm.state.CompareAndSwap(timerActive, timerStopped)
		tm.index = -1
	}
	l.timers = nil

	l.mu.Lock()
	l.finished = true
	views := make([]*View, 0, len(l.views))
	for s := range l.views {
		views = append(views, s)
	}
	l.views = nil
	l.queue = taskQueue{}
	l.mu.Unlock()
	l.spent, l.spentLast, l.due = nil, nil, nil

	slices.SortFunc(views, func(a, b *View) int { return cmp.Compare(a.id, b.id) })
	for _, s := range views {
		s.markClosed(modes.ErrLoopStopped)
		s.finishClose()
	}
	close(l.done)
}

// funcName names fn for panic and stall reports. It is only called when
// something went wrong, so reflection costs nothing on the hot path.
func funcName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return "<nil>"
	}
	if f := runtime.FuncForPC(v.Pointer()); f != nil {
		return f.Name()
	}
	return "<unknown>"
}
