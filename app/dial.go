package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"

	"github.com/hostfx/hostfx/internal/proc"
)

// ConnServer is implemented by a service that takes connections from its
// app, in any mode. Each connection made with Dial reaches ServeConn where
// the service runs (in its child, or in this process through a net.Pipe),
// on a goroutine of its own; ServeConn owns the connection and closes it
// when done. net/rpc's rpc.ServeConn fits as it is.
type ConnServer interface {
	ServeConn(conn net.Conn)
}

var connServerType = reflect.TypeOf((*ConnServer)(nil)).Elem()

// ErrNotDialable is wrapped by Dial's errors about a service that cannot
// take connections at all, as opposed to one that is not running.
var ErrNotDialable = errors.New("cannot be dialed")

// ErrNotRunning is wrapped by Dial's and Call's errors about a service
// that is not running now: it has not started, is restarting, has stopped
// or failed, or it ended during the call. Unlike
// ErrNotDialable and ErrNotCallable, it says nothing of a later attempt.
var ErrNotRunning = proc.ErrNotRunning

// Dial connects to the service called name, or with replicas to one of the
// running ones. For a service in a child it is a private socket pair, handed
// to the child over the channel the app supervises it by, so nothing else on
// the machine can connect; ctx bounds the handing over, which fails at once,
// wrapping ErrNotRunning, while the child does not read its channel. The
// service must implement ConnServer. A connection ends with the child:
// after a restart, dial again. A replacement (Replace) lets connections
// to the old child run until they close, within half its stop timeout. Errors wrap ErrNotDialable and ErrNotRunning
// as Call's do.
func (s *Supervisor) Dial(ctx context.Context, name string) (net.Conn, error) {
	if err := s.built("app.Dial", name); err != nil {
		return nil, err
	}
	return s.host.dial(ctx, name)
}

func (h *host) dial(ctx context.Context, name string) (net.Conn, error) {
	m, err := h.route(ctx, name, dialing)
	if err != nil {
		return nil, err
	}
	conn, err := m.dial(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("app.Dial: %w", err)
	}
	return conn, nil
}

// access says what Dial or Call needs of a service.
type access struct {
	op     string       // the function, for errors
	iface  reflect.Type // the interface the service must implement
	method string       // iface's method
	lacks  string       // what a service without it cannot do
	errNot error        // wrapped by the errors that time will not change
}

var dialing = access{"app.Dial", connServerType, "ServeConn(net.Conn)", "takes no connections", ErrNotDialable}
