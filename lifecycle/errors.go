package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/hostfx/hostfx/modes"
)

// ErrTimeout is wrapped by every TimeoutError, so callers can test for any
// lifecycle timeout with errors.Is.
var ErrTimeout = errors.New("timed out")

// TimeoutError reports a service that did not finish a lifecycle phase in
// time, or, in the phase "watchdog", a running service that showed no sign
// of life for its watchdog period (see Watchdog).
type TimeoutError struct {
	Service string
	Phase   string // "start", "stop" or "watchdog"
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	if e.Phase == "watchdog" {
		return fmt.Sprintf("service %q hung: no sign of life for %v, its watchdog period", e.Service, e.Timeout)
	}
	return fmt.Sprintf("service %q: %s %v after %v", e.Service, e.Phase, ErrTimeout, e.Timeout)
}

// Unwrap returns ErrTimeout.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// ChildExitError reports the end of a process-mode service's child process
// that was not a clean stop or exit: a crash, a failure, or a kill. The
// supervisor wraps it, and errors.As finds it through every wrapper.
type ChildExitError struct {
	Service string
	PID     int
	// ExitCode is the child's exit code, or -1 when a signal ended it.
	ExitCode int
	// Signal is the signal that ended the child, or 0.
	Signal syscall.Signal
	// Killed says the app killed the child; KilledFor says why.
	Killed    bool
	KilledFor string
	// Limit is the resource limit whose overrun ended the child, as far as
	// the app can tell (see ResourceLimits): "memory", "open files", "CPU
	// time" or "processes"; empty otherwise. Reason then names the limit
	// and its value, so the error reads as "child 42 signal: killed: over
	// its memory limit of 64 MiB".
	Limit string
	// Reason is why the child ended, as far as the app knows: why it
	// killed the child, or the failure the child reported before it
	// exited. It is empty when the child died without a word.
	Reason string
	// Message is the line of the child's stderr that says why it died:
	// the first line of a Go crash report ("panic: ...", "fatal error:
	// ..."), or else the last line it wrote (such as log.Fatal's). For a
	// child the app killed it is KilledFor: what the child wrote then is
	// the goroutine dump the kill asked for, which Trace returns.
	Message string
	// StderrHead is the start of the Go crash report in the child's
	// stderr, from its first line on, at most 8 KiB; nil if there is none.
	StderrHead []byte
	// Stderr is the last 64 KiB the child wrote to stderr.
	Stderr []byte
	// Err is the failure behind the end, when it has a type of its own,
	// for errors.Is and errors.As: the *TimeoutError (phase "stop") of a
	// stop that overran, for which the app killed the child, or the
	// *modes.PanicError of a panic the child recovered and reported, whose
	// Value is then the panic value's text. Reason already says it in
	// words, so Error does not repeat it.
	Err error
}

// Unwrap returns Err.
func (e *ChildExitError) Unwrap() error { return e.Err }

// Status is the end as the OS tells it: "exit status 2", "signal: killed".
func (e *ChildExitError) Status() string {
	if e.Signal != 0 {
		return "signal: " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.ExitCode)
}

func (e *ChildExitError) Error() string {
	msg := fmt.Sprintf("child %d %s", e.PID, e.Status())
	switch {
	case e.Reason != "":
		msg += ": " + e.Reason
	case e.Message != "":
		msg += ": " + e.Message
	}
	return msg
}

// Trace returns what explains the end: the panic the child reported, as
// Go reports one it did not recover (its value, then its stack), or else
// what its stderr shows of its end, the crash report's head, when the tail
// no longer holds it, then the tail.
func (e *ChildExitError) Trace() []byte {
	var pe *modes.PanicError
	if errors.As(e.Err, &pe) && len(pe.Stack) > 0 {
		return append(fmt.Appendf(nil, "panic: %v\n\n", pe.Value), pe.Stack...)
	}
	if len(e.StderrHead) == 0 || bytes.Contains(e.Stderr, firstLine(e.StderrHead)) {
		return e.Stderr
	}
	out := append(bytes.Clone(e.StderrHead), "\n[...]\n"...)
	return append(out, e.Stderr...)
}

// firstLine is b up to its first newline.
func firstLine(b []byte) []byte {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	return line
}
