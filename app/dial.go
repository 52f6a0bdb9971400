package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"

	"github.com/hostfx/hostfx/lifecycle"
)

// ConnServer is implemented by a process-mode service that takes
// connections from its app. Each connection made with Dial reaches
// ServeConn in the service's child process, on a goroutine of its own;
// ServeConn owns the connection and closes it when done. net/rpc's
// rpc.ServeConn fits as it is.
type ConnServer interface {
	ServeConn(conn net.Conn)
}

var connServerType = reflect.TypeOf((*ConnServer)(nil)).Elem()

// ErrNotDialable is wrapped by Dial's errors about a service that cannot
// take connections at all, as opposed to one that is not running.
var ErrNotDialable = errors.New("cannot be dialed")

// Dial connects to the process-mode service called name, in its child of the
// moment: a private socket pair, handed to the child over the channel the
// app supervises it by, so nothing else on the machine can connect. The
// service must implement ConnServer. A connection ends with the child: after
// a restart, dial again.
func (s *Supervisor) Dial(ctx context.Context, name string) (net.Conn, error) {
	return s.host.dial(ctx, name)
}

// Dial connects to the process-mode service called name; see
// Supervisor.Dial.
func (a *App) Dial(ctx context.Context, name string) (net.Conn, error) {
	if a.host == nil {
		return nil, fmt.Errorf("app.Dial %q: %w", name, a.Err())
	}
	return a.host.dial(ctx, name)
}

func (h *host) dial(ctx context.Context, name string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	d := h.names[name]
	h.mu.Unlock()
	switch {
	case d == nil:
		return nil, fmt.Errorf("app.Dial: no service is called %q: %w", name, ErrNotDialable)
	case !d.mode.Process():
		return nil, fmt.Errorf("app.Dial: service %q (%v) runs in this process; take it as a dependency instead: %w", name, d.mode, ErrNotDialable)
	case !d.typ.Implements(connServerType):
		return nil, fmt.Errorf("app.Dial: service %q: %v has no method ServeConn(net.Conn), so it takes no connections: %w", name, d.typ, ErrNotDialable)
	}
	if h.child != nil {
		return nil, fmt.Errorf("app.Dial: service %q: a child process cannot dial: %w", name, ErrNotDialable)
	}
	for _, s := range h.supervised() {
		if s.Name != name {
			continue
		}
		if st := s.State(); st != lifecycle.StateRunning {
			return nil, fmt.Errorf("app.Dial: service %q is %v, not running", name, st)
		}
		run, ok := s.Current().(interface{ Dial() (net.Conn, error) })
		if !ok {
			break
		}
		return run.Dial()
	}
	return nil, fmt.Errorf("app.Dial: service %q has not been built: is the app built and started?", name)
}
