package loop

import (
	"sync/atomic"
	"time"
)

// Timer states. The zero value is stopped, so a Timer that was never
// scheduled reports that Stop prevented nothing.
const (
	timerStopped int32 = iota
	timerActive        // will run at its deadline
	timerFired         // a one-shot timer that has run
)

// Timer is a callback scheduled with View.After or View.Every.
type Timer struct {
	fn     func()
	scope  *View
	period time.Duration // 0 for After
	state  atomic.Int32  // the only field other goroutines touch after scheduling

	// Owned by the loop goroutine once scheduled.
	deadline time.Time
	seq      uint64 // ties on deadline run in the order they were scheduled
	index    int    // position in the heap, -1 when not in it
}

// Stop keeps the timer from running again. It is safe from any goroutine
// and from a callback, including the timer's own. It reports whether it
// prevented a future run: false if a one-shot timer already ran, the timer
// was stopped before, or its view is closed.
func (t *Timer) Stop() bool {
	if t == nil || !t.state.CompareAndSwap(timerActive, timerStopped) {
		return false
	}
	if t.scope.closed.Load() {
		return false // the view's closing cancels the timer anyway
	}
	// Take it out of the heap now so the loop does not wake for nothing.
	t.scope.el.enqueue(taskEntry{kind: taskUnschedule, scope: t.scope, timer: t})
	return true
}

// schedule puts a timer made by View.After or View.Every into the heap,
// unless it was stopped or its view closed while the request was queued.
func (l *Engine) schedule(tm *Timer) {
	if tm.scope.closed.Load() {
		tm.state.CompareAndSwap(timerActive, timerStopped)
		return
	}
	if tm.state.Load() == timerActive {
		l.pushTimer(tm)
	}
}

func (l *Engine) pushTimer(tm *Timer) {
	l.timerSeq++
	tm.seq = l.timerSeq
	l.timers.push(tm)
}

// fire runs a due timer and re-arms it if it repeats.
func (l *Engine) fire(tm *Timer) {
	s := tm.scope
	if s.closed.Load() {
		return
	}
	if tm.period == 0 {
		if !tm.state.CompareAndSwap(timerActive, timerFired) {
			return
		}
	} else if tm.state.Load() != timerActive {
		return
	}
	now := l.clock.Now()
	l.lateness.Store(int64(now.Sub(tm.deadline)))
	tm.fn()
	// Not reached if fn panicked: a crashing timer does not come back.
	if tm.period > 0 && tm.state.Load() == timerActive && !s.closed.Load() {
		tm.deadline = nextTick(tm.deadline, tm.period, now)
		l.pushTimer(tm)
	}
}

// nextTick is the first tick of a timer started at deadline with the given
// period that is after now, so ticks missed while the loop was busy are
// skipped instead of run back to back.
func nextTick(deadline time.Time, period time.Duration, now time.Time) time.Time {
	missed := now.Sub(deadline) / period
	return deadline.Add((missed + 1) * period)
}

// timerHeap is a binary min-heap of timers by deadline, then seq. It is
// written out rather than built on container/heap to keep *Timer out of
// interfaces and to maintain Timer.index for removal.
type timerHeap []*Timer

func (h timerHeap) less(i, j int) bool {
	if c := h[i].deadline.Compare(h[j].deadline); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) push(tm *Timer) {
	tm.index = len(*h)
	*h = append(*h, tm)
	h.up(tm.index)
}

func (h *timerHeap) popMin() *Timer {
	return h.remove(0)
}

// remove takes out the timer at i and returns it.
func (h *timerHeap) remove(i int) *Timer {
	old := *h
	last := len(old) - 1
	tm := old[i]
	if i != last {
		old.swap(i, last)
	}
	old[last] = nil
	*h = old[:last]
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
	tm.index = -1
	return tm
}

// removeScope drops every timer of s and marks it stopped, for when s closes.
func (h *timerHeap) removeScope(s *View) {
	kept := (*h)[:0]
	for _, tm := range *h {
		if tm.scope == s {
			tm.state.CompareAndSwap(timerActive, timerStopped)
			tm.index = -1
			continue
		}
		kept = append(kept, tm)
	}
	clear((*h)[len(kept):])
	*h = kept
	for i := range kept {
		kept[i].index = i
	}
	for i := len(kept)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down sifts i toward the leaves and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	for {
		child := 2*i + 1
		if child >= len(h) {
			break
		}
		if right := child + 1; right < len(h) && h.less(right, child) {
			child = right
		}
		if !h.less(child, i) {
			break
		}
		h.swap(i, child)
		i = child
	}
	return i > start
}
