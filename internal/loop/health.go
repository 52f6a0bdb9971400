package loop

import (
	"context"
	"fmt"
	"time"
)

// What anyone may ask a running loop: whether it answers, and how late
// it is.

// Ping waits until the loop has run everything posted before it, or ctx
// ends; a loop that does not answer is stuck in a callback, which its
// error names with how long it has run. A loop that has not started or has
// finished answers at once: it holds nothing up.
func (l *Engine) Ping(ctx context.Context) error {
	if !l.started.Load() {
		return nil
	}
	answered := make(chan struct{})
	if !l.enqueue(taskEntry{fn: func() { close(answered) }, scope: l.pinger}) {
		return nil
	}
	select {
	case <-answered:
		return nil
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("event loop %q: no answer: %s: %w", l.name, l.stuck(), ctx.Err())
	}
}

// stuck says what the loop is doing, for a Ping it did not answer.
func (l *Engine) stuck() string {
	seq, running, ok := l.runningTask()
	if !ok {
		return "no callback is running"
	}
	if t, ok := l.taskAt(seq); ok {
		return fmt.Sprintf("a callback of %q, %s, has run for %v", t.scope.name, funcName(t.userFunc()), running.Round(time.Millisecond))
	}
	return fmt.Sprintf("a callback has run for %v", running.Round(time.Millisecond))
}

// Lag says how late the loop is: the lateness of the most recently fired
// timer (when its callback started minus its deadline), or, while a
// callback runs, how long that callback has been running if that is more,
// so a stuck loop shows before its next timer fires.
//
// The loop does not read the clock per callback, which would cost more
// than running a small callback; instead a callback's running time is
// counted from the first time the watchdog or a Lag call saw it running. It may therefore trail
// the truth by one watchdog tick (half the stall threshold), or, with the
// watchdog off, by the time since the previous Lag call. Lag is safe from
// any goroutine.
func (l *Engine) Lag() time.Duration {
	lag := time.Duration(l.lateness.Load())
	if _, running, ok := l.runningTask(); ok {
		lag = max(lag, running)
	}
	return lag
}

// runningTask returns the seq of the task running now and how long it has
// been seen running; ok is false when no task runs.
func (l *Engine) runningTask() (seq uint64, running time.Duration, ok bool) {
	first := l.batchFirst.Load()
	seq = l.progress.Load()
	if first == 0 || seq < first {
		return 0, 0, false // idle, or between batches
	}
	// Read after seq, so the sighting is never earlier than the task began.
	now := l.clock.Now()
	l.seenMu.Lock()
	if l.seenSeq != seq {
		l.seenSeq, l.seenAt = seq, now
	}
	seenAt := l.seenAt
	l.seenMu.Unlock()
	return seq, now.Sub(seenAt), true
}
