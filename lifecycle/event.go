package lifecycle

import (
	"time"

	"github.com/hostfx/hostfx/modes"
)

// An Event is one step in a service's life. The set of events is closed:
// every Event is one of the types in this file.
type Event interface {
	event()
}

// Observer receives lifecycle events. Events arrive synchronously from the
// goroutine making the transition, from many goroutines at once, so an
// Observer must be safe for concurrent use and quick.
type Observer func(Event)

// Starting is emitted before a service is launched, with the effective
// mode and settings. Sources names where settings came from when it was
// not code, by setting name (such as "stop_timeout": "config.yaml:12").
type Starting struct {
	Service  string
	Mode     modes.ExecutionMode
	Settings Settings
	Sources  map[string]string
}

// Started is emitted when a service has started, or has failed to (Err is
// then set).
type Started struct {
	Service  string
	Mode     modes.ExecutionMode
	PID, TID int
	Duration time.Duration
	Err      error
}

// Stopping is emitted when a service is asked to stop.
type Stopping struct {
	Service string
	Mode    modes.ExecutionMode
}

// Stopped is emitted when a service's stop has ended. Detached is set when
// the entry point ignored its stop timeout and was left running; Err then
// holds a *TimeoutError, and Stack the stack of the goroutine the service
// was stuck on when it was left (its Run's, or its loop's), if known. A
// child process is killed instead, and its error holds its goroutines.
type Stopped struct {
	Service  string
	Mode     modes.ExecutionMode
	Duration time.Duration
	Err      error
	Detached bool
	Stack    []byte
}

// Crashed is emitted when a running service's entry point returns an
// error or panics, or when it hung (Err then holds a *TimeoutError in the
// phase "watchdog"). Stack holds the goroutine stack of a panic, or where a
// hung service was stuck: its goroutine's stack in the in-process modes, a
// child's goroutine dump in the process modes.
type Crashed struct {
	Service  string
	Mode     modes.ExecutionMode
	PID, TID int
	Err      error
	Stack    []byte
}

// Exited is emitted when a running service's entry point ends before it
// was asked to stop without failing: it returned nil, or an error wrapping
// ErrNoRestart (then Err holds it). Err also explains a clean end that came
// from outside the app, such as a process-mode child that stopped in order
// on a SIGTERM sent to it directly; the policy treats that end as a nil
// return.
type Exited struct {
	Service  string
	Mode     modes.ExecutionMode
	PID, TID int
	Err      error
}

// Stalled is emitted when one callback has held an event loop longer than
// the loop's stall threshold.
type Stalled struct {
	Service string
	Loop    string
	Func    string
	Running time.Duration
}

// Restarting is emitted when a failed service will be started again after
// Delay. Attempt counts restarts since the service last ran stably, from 1.
type Restarting struct {
	Service string
	Mode    modes.ExecutionMode
	Attempt int
	Delay   time.Duration
	Cause   error
}

// GaveUp is emitted when a service failed more often than its intensity
// allows, or failed under a policy that does not restart; it stays down.
type GaveUp struct {
	Service  string
	Mode     modes.ExecutionMode
	Restarts int
	Window   time.Duration
	Cause    error
}

// Replacing is emitted when a replacement of a running process-mode
// service begins: a new child starts beside the one at PID, which serves
// on meanwhile. The new child's start is reported with Starting and
// Started, as any start.
type Replacing struct {
	Service string
	Mode    modes.ExecutionMode
	PID     int // the child being replaced
}

// Replaced is emitted when a replacement has ended. PID is the child that
// serves the service now and OldPID the one it replaced. When PID equals
// OldPID, the replacement failed before the switch and Err says why: the
// old child serves on. Otherwise the new child took the calls, and Err,
// when set, says how the old one's stop failed.
type Replaced struct {
	Service     string
	Mode        modes.ExecutionMode
	OldPID, PID int
	Duration    time.Duration
	Err         error
}

func (*Starting) event()   {}
func (*Started) event()    {}
func (*Stopping) event()   {}
func (*Stopped) event()    {}
func (*Crashed) event()    {}
func (*Exited) event()     {}
func (*Stalled) event()    {}
func (*Restarting) event() {}
func (*GaveUp) event()     {}
func (*Replacing) event()  {}
func (*Replaced) event()   {}
