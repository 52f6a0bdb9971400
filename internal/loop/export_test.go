package loop

// Idle reports whether l has no callback running, as its watchdog sees it.
// A callback that signals a test has not returned yet; tests of the
// watchdog wait for this before they move the clock.
func Idle(l *Engine) bool { return l.batchFirst.Load() == 0 }
