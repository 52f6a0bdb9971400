package proc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/lifecycle"
)

// control speaks the protocol with the child until it exits: it checks the
// hello, relays readiness and reports, sends heartbeats and the stop, and
// escalates when the child is hung or does not stop in time.
func (r *Run) control(conn net.Conn, pid int, exited <-chan struct{}) {
	// The child has exited: an error closing its channel changes nothing.
	defer func() { _ = conn.Close() }()
	frames := make(chan Frame, 8)
	readErr := make(chan error, 1)
	go func() { readErr <- r.readChild(newBoundedReader(conn, r.exec.Heartbeat), frames) }()

	kill := func(sig unix.Signal, why string) { r.signal(sig, why) }
	hb := time.NewTicker(r.exec.Heartbeat)
	defer hb.Stop()
	var (
		readySeen  bool
		seq        uint64
		lastPong                   = time.Now()
		stopping   <-chan struct{} = r.stop
		term       <-chan time.Time
		killAt     <-chan time.Time
		stop       = Frame{Kind: KindStop, Deadline: r.spec.StopTimeout}
		stopUnsent bool          // the stop found the channel busy: sent again at each heartbeat
		hung       <-chan string = r.hung
	)
	// A child with limits, or one spawned ahead, reads nothing but its
	// go-ahead until it has it, so nothing else is sent before. It gets
	// it once it has said hello (and its limits are set) and, when spawned
	// ahead, a launch has taken it.
	held := r.held || !r.exec.Limits.IsZero()
	var helloed bool
	released := r.released
	goAhead := func() {
		if held && helloed && released == nil {
			r.goAhead(conn)
			held = false
			if r.held {
				r.log.Debug(SpareLaunched) // the usual path since every start pre-spawns: detail
			}
		}
	}
	// quit ends a hung child: SIGQUIT makes a Go child dump its goroutines
	// to stderr, which lands in the crash report, and SIGKILL follows a
	// grace period later.
	quit := func(why string) {
		r.mu.Lock()
		if r.report.killedFor == "" {
			r.report.killedFor = why
		}
		if !r.reaped {
			_ = unix.Kill(pid, unix.SIGQUIT) // the child alone: only it dumps
		}
		r.mu.Unlock()
		killAt = time.After(r.exec.KillGrace)
	}
	// handle takes in a frame that readChild let through.
	handle := func(f Frame) {
		switch f.Kind {
		case KindHello:
			helloed = true
			if released != nil {
				r.log.Debug(SpareHeld)
			}
			if r.limit(pid) {
				goAhead()
			} else {
				held = false // killed: no go-ahead
			}
		case KindReady: // the reader has closed ready, and the next tick starts the heartbeat clock
		case KindStartFailed:
			r.note(func(rp *report) { rp.startFailed = f.Text })
		case KindPong:
			if f.Seq <= seq { // a late answer is still an answer
				lastPong = time.Now()
			}
		case KindStopped:
			r.note(func(rp *report) { rp.stopped = &f.Text })
		case KindExited:
			r.note(func(rp *report) { rp.exited, rp.noRestart, rp.exitText = true, f.NoRestart, f.Text })
		case KindFatal:
			r.note(func(rp *report) { rp.fatal = f.Text })
		case KindSignaled:
			r.note(func(rp *report) { rp.signaled = f.Text })
		case KindPanic:
			r.note(func(rp *report) { rp.panicked = panicError(f) })
		}
	}
	var drain *time.Timer // ends the read of what a child wrote before it exited
	defer func() {
		if drain != nil {
			drain.Stop()
		}
	}()
	for {
		select {
		case <-exited:
			// Frames the child wrote just before exiting are still queued:
			// read them to the end, which comes at once now that it is gone.
			// Nothing is sent or signalled any more.
			exited, stopping, term, killAt, hung = nil, nil, nil, nil, nil
			hb.Stop()
			// Closed rather than given a read deadline, which the reader
			// owns: a socket some other process holds must not keep us.
			drain = time.AfterFunc(time.Second, func() { _ = conn.Close() })
		case err := <-readErr:
			for len(frames) > 0 { // the reader queued these before it stopped
				handle(<-frames)
			}
			protocol := errors.Is(err, ErrProtocol)
			if protocol {
				// Reported even when the child has exited already: a frame
				// it cut off is what went wrong, not its exit status.
				r.note(func(rp *report) { rp.protocol = err.Error() })
			}
			switch {
			case exited == nil:
				return
			case protocol:
				kill(unix.SIGKILL, err.Error())
			default:
				// The channel ends as the child exits; a child that closed
				// its end and runs on can no longer be stopped or watched.
				select {
				case <-exited:
					return
				case <-time.After(r.exec.KillGrace):
					kill(unix.SIGKILL, "control channel closed while the child runs")
				}
			}
			<-exited
			return
		case f := <-frames:
			handle(f)
		case <-released:
			released = nil
			goAhead()
		case <-hb.C:
			if held {
				continue
			}
			if stopUnsent && term != nil {
				stopUnsent = !r.send(conn, stop)
			}
			if killAt != nil || stopping == nil {
				continue // escalating, or stopping: the stop timeout governs now
			}
			if chans.Closed(r.ready) && !readySeen {
				// The reader closes ready before the Ready frame reaches
				// handle: heartbeats count from here, not from the hello.
				readySeen, lastPong = true, time.Now()
			}
			if chans.Closed(r.ready) && time.Since(lastPong) > 3*r.exec.Heartbeat {
				quit(fmt.Sprintf("hung: no heartbeat answer for %v", 3*r.exec.Heartbeat))
				continue
			}
			seq++
			r.send(conn, Frame{Kind: KindPing, Seq: seq})
		case why := <-hung:
			hung = nil
			if killAt == nil { // not escalating already
				quit(why)
			}
		case <-stopping:
			stopping = nil
			term = time.After(r.spec.StopTimeout) // from the request, however long the send takes
			stopUnsent = held || !r.send(conn, stop)
		case <-term:
			term = nil
			// Not SIGTERM, which the child's app would take for a second
			// request to stop and report as such: endSignal has the child
			// end what it started, and itself, at once.
			timeout := &lifecycle.TimeoutError{Service: r.spec.Name, Phase: "stop", Timeout: r.spec.StopTimeout}
			r.signalTo(1, endSignal, fmt.Sprintf("did not stop within %v", r.spec.StopTimeout), timeout)
			killAt = time.After(r.exec.KillGrace)
		case <-killAt:
			killAt = nil
			kill(unix.SIGKILL, "")
		}
	}
}

// send writes f to the child and reports whether it did. A child that has
// not read its channel for a heartbeat period does not get it, nor does one
// whose channel other writers held that long: a ping it missed counts
// against it, and the control loop sends a stop again.
func (r *Run) send(conn net.Conn, f Frame) bool {
	wait := time.NewTimer(r.exec.Heartbeat)
	defer wait.Stop()
	select {
	case r.writes <- struct{}{}:
	case <-wait.C:
		return false
	}
	defer func() { <-r.writes }()
	_ = conn.SetWriteDeadline(time.Now().Add(r.exec.Heartbeat))
	err := Write(conn, f)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		r.deaf.Store(true)
	}
	return err == nil
}
