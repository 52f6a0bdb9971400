package modes

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Loop is a service's view of the event loop it runs on, given to
// RunAsync. Callbacks of one loop run one at a time, in order, on the
// loop's goroutine, so the services on it share state without locks.
// Closing a service's view (Exit, a panic, a stop) drops its timers and
// callbacks and leaves the other services on the loop running.
//
// Every method is safe from any goroutine.
type Loop interface {
	// Name is the name of the service the view belongs to.
	Name() string

	// Post runs fn on the loop, after the callbacks already posted. It
	// reports false, and drops fn, once the view is closed.
	Post(fn func()) bool

	// After runs fn on the loop once d has passed. A timer of a view that
	// closes never fires.
	After(d time.Duration, fn func()) Timer

	// Every runs fn on the loop every d, the first time after d. A tick
	// that comes while the previous one still runs is skipped, not
	// queued. It panics if d is not positive.
	Every(d time.Duration, fn func()) Timer

	// Go runs work on a goroutine of its own, with a context that ends
	// when the view closes, and then runs then on the loop with work's
	// error, unless the view has closed. A panic in work is the error
	// then gets, as a *PanicError; a panic in then closes the view.
	// Work that ignores its context is reported when the service ends.
	Go(work func(ctx context.Context) error, then func(error))

	// Exit closes the view with err: the service ends, with err as its
	// error (nil for a clean end).
	Exit(err error)

	// OnClose runs fn on the loop when the view closes, after its timers
	// are cancelled and before Done is closed, so fn may still touch what
	// the service's callbacks own. Functions run in the reverse order of
	// their adding, as deferred calls do; a panic in one becomes the
	// view's Err unless it had one. Added after the view's last callbacks
	// have begun, fn runs at once on the calling goroutine.
	OnClose(fn func())

	// Done is closed once the view has closed and its callbacks have
	// stopped running.
	Done() <-chan struct{}

	// Err is why the view closed: nil before it closes and after a clean
	// Exit, ErrLoopStopped when the loop itself stopped.
	Err() error

	// Lag is how long the callback now running has been running, or zero:
	// a measure of how busy the loop is.
	Lag() time.Duration
}

// Timer is a callback scheduled with Loop.After or Loop.Every.
type Timer interface {
	// Stop keeps the timer from firing again. It reports whether it did
	// so before the timer fired once more (for Every: whether it was
	// still ticking).
	Stop() bool
}

// ErrLoopStopped is the Err of a view whose loop stopped before the view
// ended by itself.
var ErrLoopStopped = errors.New("event loop stopped")

// PanicError is a panic recovered from a service's callback or Go work.
// The stack is kept apart from Error so logs stay one line.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack where it panicked
	Func  string // the function that panicked, e.g. "example.com/svc.(*S).tick"
}

// Error names the function and the panic value; print Stack separately.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic in %s: %v", e.Func, e.Value)
}

// Unwrap returns the panic value when it is an error, so errors.Is sees
// through panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
