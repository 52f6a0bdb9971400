package lifecycle

import (
	"time"

	"github.com/hostfx/hostfx/modes"
)

// State is where a service is in its life.
type State uint8

// The states of a service.
const (
	StateIdle     State = iota // registered, not started yet
	StateStarting              // launched, not yet started
	StateRunning               // started and running
	StateBackoff               // failed, waiting to restart
	StateStopping              // asked to stop
	StateStopped               // stopped on request, or never started
	StateExited                // ended without failing and was not restarted
	StateFailed                // failed and will not be restarted
)

// stateNames read as plain English in messages: "start while waiting to
// restart", not "start while backoff".
var stateNames = [...]string{"idle", "starting", "running", "waiting to restart", "stopping", "stopped", "exited", "failed"}

// String names the state in plain English, as messages and Status's JSON
// show it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Status is a snapshot of one service.
type Status struct {
	Service     string
	Mode        modes.ExecutionMode
	State       State
	Since       time.Time // when it entered State
	Restarts    int       // since the app started
	LastError   error     // the last failure, if any
	LastErrorAt time.Time
	PID, TID    int // where the current or last run is
}
