package supervisor

import (
	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/modes"
)

// stuck adds to err, about a run that ignored its stop, the stack of the
// goroutine the run is stuck on, when the run can tell: Go cannot end that
// goroutine, but the stack shows where it is.
func stuck(run executor.Run, err error) error {
	if run == nil {
		return err
	}
	if stack := executor.Stack(run); stack != nil {
		return &dumped{error: err, stack: stack}
	}
	return err
}

// dumped is an error with the stack of the goroutine it is about, which
// the Crashed and Stopped events and the log show.
type dumped struct {
	error
	stack []byte
}

func (e *dumped) Unwrap() error { return e.error }
func (e *dumped) Trace() []byte { return e.stack }

// stackOf finds the stack a failure carries: a panic's, or a crashed
// child's goroutine dump. It walks the chain itself, since errors.As
// reflects on its target and a crash loop calls this on every restart.
func stackOf(err error) []byte {
	switch e := err.(type) { //nolint:errorlint // this walks the chain, as errors.As would, without reflection
	case nil:
		return nil
	case *modes.PanicError:
		return e.Stack
	case interface{ Trace() []byte }:
		return e.Trace()
	case interface{ Unwrap() error }:
		return stackOf(e.Unwrap())
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if stack := stackOf(inner); stack != nil {
				return stack
			}
		}
	}
	return nil
}
