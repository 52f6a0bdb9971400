package app

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/hostfx/hostfx/internal/proc"
)

// CallHandler is implemented by a service that answers Call, in any mode.
// A request reaches HandleCall where the service runs: in its child
// process, on its loop for a loop service in this process, or on the
// caller's goroutine (or one of its own, when the caller's context can end
// first) for a thread service. What it returns goes back to the caller:
// the response, or the error's text as a *CallError. The bytes mean what
// the two sides agree they mean: a method name and arguments in any
// encoding.
//
// In a child, calls run concurrently (up to MaxConcurrentCalls), each on a
// goroutine of its own connection. ctx is not the caller's: it ends when
// the service is asked to stop, once the calls under way have finished or
// its stop timeout has passed, and a call the caller gave up on runs to its
// end. HandleCall owns request. A panic in HandleCall fails the call, not
// the service.
type CallHandler interface {
	HandleCall(ctx context.Context, request []byte) (response []byte, err error)
}

var callHandlerType = reflect.TypeOf((*CallHandler)(nil)).Elem()

// ErrNotCallable is wrapped by Call's errors about a service that cannot
// answer calls at all, as opposed to one that is not running.
var ErrNotCallable = errors.New("cannot be called")

// Limits of Call. MaxCallSize (16 MiB) is the largest request or response,
// in bytes; more belongs on a connection of its own (see Dial).
// MaxConcurrentCalls (64) is how many calls to one service run at once;
// more wait for one to end.
const (
	MaxCallSize        = proc.MaxCallSize
	MaxConcurrentCalls = proc.MaxConcurrentCalls
)

// CallError is an error the service's HandleCall returned, as Call reports
// it: the call reached the service and was answered.
type CallError struct {
	Service string // the service that answered
	Message string // the text of HandleCall's error
}

func (e *CallError) Error() string { return fmt.Sprintf("service %q: %s", e.Service, e.Message) }

var calling = access{"app.Call", callHandlerType, "HandleCall(context.Context, []byte) ([]byte, error)",
	"answers no calls", ErrNotCallable}

// Call sends request to the service called name, or with replicas to the
// running one with the fewest calls under way, and returns the response of
// its HandleCall (see CallHandler). A service in a child costs one round
// trip on a private socket pair; the app keeps the connections of finished
// calls for later ones.
//
// ctx bounds the call, the wait for a turn among MaxConcurrentCalls
// included; a call it cuts short returns ctx's error at once, while
// HandleCall runs on. Give calls a deadline: a child that stalls holds a
// call without one until it is killed as hung.
//
// The error is a *CallError when HandleCall returned one; it wraps
// ErrNotCallable for a service that can never answer (no such service, or
// one without HandleCall), and ErrNotRunning, at once, for one that is not
// running now. A call that was under way when the service ended fails with
// ErrNotRunning and is not repeated: only the caller knows whether it is
// safe to call again. A replacement (see Replace) ends no call: one under
// way finishes on the old child, and the next goes to the new one. A
// request over MaxCallSize is refused.
func (s *Supervisor) Call(ctx context.Context, name string, request []byte) ([]byte, error) {
	if err := s.built("app.Call", name); err != nil {
		return nil, err
	}
	return s.host.call(ctx, name, request)
}

func (h *host) call(ctx context.Context, name string, request []byte) ([]byte, error) {
	m, err := h.route(ctx, name, calling)
	if err != nil {
		return nil, err
	}
	resp, err := m.call(ctx, h, request)
	if he := (*proc.HandlerError)(nil); errors.As(err, &he) {
		return nil, &CallError{Service: m.spec.name, Message: he.Message}
	}
	if err != nil {
		return nil, fmt.Errorf("app.Call: %w", err)
	}
	return resp, nil
}
