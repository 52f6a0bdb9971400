package loop

import "time"

// minWatchdogTick keeps a tiny StallThreshold from turning the watchdog
// into a busy loop.
const minWatchdogTick = time.Millisecond

// Stall describes one callback that has run longer than the threshold.
// Because every service on the loop waits for it, the report names the
// service and function to blame.
type Stall struct {
	Loop    string        // Config.Name
	Service string        // name of the view the callback belongs to
	Func    string        // the callback's function name
	Running time.Duration // at least this long so far, as seen by the watchdog
}

// startWatchdog starts the watchdog goroutine if the threshold is positive
// and returns the function that stops it and waits for it to exit.
func (l *Engine) startWatchdog() (stop func()) {
	if l.threshold <= 0 {
		return func() {}
	}
	ticker := l.clock.NewTicker(max(l.threshold/2, minWatchdogTick))
	quit := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer ticker.Stop()
		var reported uint64 // seq of the last task reported
		for {
			select {
			case <-quit:
				return
			case <-ticker.Chan():
				l.checkStall(&reported)
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}

// checkStall reports the running task once it has been seen running for
// the threshold. The loop only stores a sequence number per task, so the
// watchdog counts from the tick that first saw that number: ticking at half
// the threshold, it reports a stall between one and one and a half
// thresholds after the task began.
func (l *Engine) checkStall(reported *uint64) {
	seq, running, ok := l.runningTask()
	if !ok || running < l.threshold || seq == *reported {
		return
	}
	t, ok := l.taskAt(seq)
	if !ok {
		return // it ended while we looked
	}
	*reported = seq
	if l.onStall != nil {
		l.onStall(Stall{Loop: l.name, Service: t.scope.name, Func: funcName(t.userFunc()), Running: running})
	}
}

// taskAt returns the task numbered seq if it is in the batch running now,
// which the loop publishes only while the watchdog runs.
func (l *Engine) taskAt(seq uint64) (taskEntry, bool) {
	l.wdMu.Lock()
	defer l.wdMu.Unlock()
	batch, base := l.wdBatch, l.wdBase
	if batch == nil || seq < base || seq-base >= uint64(len(batch)) {
		return taskEntry{}, false
	}
	return batch[seq-base], true
}
