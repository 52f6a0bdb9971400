package lifecycle

import (
	"errors"
	"fmt"
	"time"
)

// ErrTimeout is wrapped by every TimeoutError, so callers can test for any
// lifecycle timeout with errors.Is.
var ErrTimeout = errors.New("timed out")

// TimeoutError reports a service that did not finish a lifecycle phase in
// time.
type TimeoutError struct {
	Service string
	Phase   string // "start" or "stop"
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("service %q: %s %v after %v", e.Service, e.Phase, ErrTimeout, e.Timeout)
}

// Unwrap returns ErrTimeout.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }
