package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
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

// ErrUnknownState is wrapped by every error that rejects a state.
var ErrUnknownState = errors.New("unknown service state")

// MarshalText implements encoding.TextMarshaler with the state's String
// form, so a Status encodes as readable JSON.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("%w: %d", ErrUnknownState, uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: it reads a state's
// String form.
func (s *State) UnmarshalText(text []byte) error {
	for i, name := range stateNames {
		if name == string(text) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("%w %q", ErrUnknownState, text)
}

// Status is a snapshot of one service. It encodes as JSON with its state,
// mode and last error as text.
type Status struct {
	Service     string
	Mode        modes.ExecutionMode
	State       State
	Since       time.Time // when it entered State
	Restarts    int       // since the app started
	LastError   error     // the last failure, if any
	LastErrorAt time.Time
	PID, TID    int // where the current or last run is
	// Lag is, for a running service on an event loop in this process, how
	// late its loop is (see modes.Loop.Lag); zero otherwise. The services
	// on the main loop share its lag.
	Lag time.Duration
}

// statusJSON is Status with its error as text: an error value has no JSON
// form of its own and would encode as {}.
type statusJSON struct {
	Service     string
	Mode        modes.ExecutionMode
	State       State
	Since       time.Time
	Restarts    int
	LastError   *string
	LastErrorAt time.Time
	PID, TID    int
	Lag         time.Duration `json:",omitempty"` // nanoseconds, as time.Duration encodes
}

// MarshalJSON encodes the status with LastError as its message, or null.
func (s Status) MarshalJSON() ([]byte, error) {
	out := statusJSON{
		Service: s.Service, Mode: s.Mode, State: s.State, Since: s.Since, Restarts: s.Restarts,
		LastErrorAt: s.LastErrorAt, PID: s.PID, TID: s.TID, Lag: s.Lag,
	}
	if s.LastError != nil {
		msg := s.LastError.Error()
		out.LastError = &msg
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote; LastError comes back as an
// error with the same message.
func (s *Status) UnmarshalJSON(data []byte) error {
	var in statusJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	*s = Status{
		Service: in.Service, Mode: in.Mode, State: in.State, Since: in.Since, Restarts: in.Restarts,
		LastErrorAt: in.LastErrorAt, PID: in.PID, TID: in.TID, Lag: in.Lag,
	}
	if in.LastError != nil {
		s.LastError = errors.New(*in.LastError)
	}
	return nil
}
