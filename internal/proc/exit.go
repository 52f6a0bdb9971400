package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

// ExitError is the error of a child that ended badly.
type ExitError = lifecycle.ChildExitError

// result turns how the child ended into the run's error: nil for a clean
// stop or exit, an *ExitError otherwise.
func (r *Run) result(state *os.ProcessState, waitErr error) error {
	r.mu.Lock()
	rp := r.report
	r.mu.Unlock()
	clean := state != nil && state.Success() && rp.killedFor == "" && rp.protocol == ""
	// A stop the parent did not ask for: a signal sent to the child.
	var signaled string
	if rp.signaled != "" && !chans.Closed(r.stop) {
		signaled = fmt.Sprintf("child %d stopped in order on %s sent to it directly, not by the app", r.PID(), rp.signaled)
	}
	switch {
	case clean && rp.stopped != nil && *rp.stopped == "" && signaled != "":
		return &executor.CleanEnd{Reason: signaled}
	case clean && rp.stopped != nil && *rp.stopped == "":
		return nil
	case clean && rp.stopped != nil && signaled != "":
		return fmt.Errorf("%s, and its stop failed: %s", signaled, *rp.stopped)
	case clean && rp.stopped != nil:
		return errors.New(*rp.stopped)
	case clean && rp.exited && rp.noRestart:
		return noRestart(rp.exitText)
	case clean && rp.exited:
		return nil
	}
	e := &ExitError{
		Service: r.spec.Name, PID: r.TID(), ExitCode: -1,
		Killed: rp.killedFor != "", KilledFor: rp.killedFor,
		StderrHead: r.head.bytes(), Stderr: r.tail.bytes(),
	}
	e.Message = crashMessage(e.StderrHead, e.Stderr)
	if e.Killed {
		// What the child wrote as it was killed is the dump the kill asked
		// for: its trace, not the reason.
		e.Message = rp.killedFor
	}
	switch {
	case rp.killCause != nil:
		e.Err = rp.killCause
	case rp.panicked != nil:
		e.Err = rp.panicked
	}
	if state != nil {
		e.ExitCode = state.ExitCode()
		if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			e.Signal = ws.Signal()
		}
	}
	switch {
	case rp.killedFor != "":
		e.Reason = rp.killedFor
	case rp.protocol != "":
		e.Reason = rp.protocol
	case rp.fatal != "":
		e.Reason = rp.fatal
	case rp.startFailed != "":
		e.Reason = rp.startFailed
	case rp.stopped != nil && *rp.stopped != "":
		e.Reason = *rp.stopped
	case state != nil && state.ExitCode() == raceExitCode && bytes.Contains(e.Stderr, []byte("WARNING: DATA RACE")):
		e.Reason = "data race (the race detector's report is in the stderr tail)"
	case state == nil && waitErr != nil:
		e.Reason = "wait: " + waitErr.Error()
	case state != nil && state.Success():
		e.Reason = "exited without saying why"
	}
	return e
}

// maxMessage bounds the stderr line quoted in an error.
const maxMessage = 512

// crashMessage finds the line of stderr that says why the child died: the
// first line of its Go crash report, or else its last line, the message
// of a log.Fatal. A JSON log line gives its message and error.
func crashMessage(head, tail []byte) string {
	line, _, _ := bytes.Cut(head, []byte{'\n'})
	if len(line) == 0 {
		tail = bytes.TrimRight(tail, " \t\r\n")
		line = tail[bytes.LastIndexByte(tail, '\n')+1:]
	}
	line = bytes.TrimSpace(line)
	if len(line) > 0 && line[0] == '{' {
		var entry struct{ Msg, Error string }
		if json.Unmarshal(line, &entry) == nil && entry.Msg != "" {
			if entry.Error != "" {
				return cut(entry.Msg + ": " + entry.Error)
			}
			return cut(entry.Msg)
		}
	}
	return cut(string(line))
}

func cut(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage] + " [...]"
	}
	return s
}

// noRestart is a child's own "do not restart me", told in its words.
type noRestart string

func (e noRestart) Error() string        { return string(e) }
func (e noRestart) Is(target error) bool { return target == lifecycle.ErrNoRestart }
