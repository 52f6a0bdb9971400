package app

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/hostfx/hostfx/lifecycle"
)

// Supervisor reports on the app's services and reaches them by name (Call,
// Dial). Constructors may depend on *Supervisor, for example to serve a
// health endpoint; an App is one too.
type Supervisor struct {
	host *host
	// unbuilt says why there is no host, in an App whose build failed.
	unbuilt func() error
}

func newSupervisor(h *host) *Supervisor { return &Supervisor{host: h} }

// Status returns a snapshot of every service, in start order; none in an
// app whose build failed.
func (s *Supervisor) Status() []lifecycle.Status {
	if s.host == nil {
		return nil
	}
	return s.host.status()
}

// Ping returns once the app's main event loop, if it runs, has run what
// was posted to it before; or, when ctx ends first, an error that names
// the callback the loop is stuck in. A liveness check uses it: a main loop
// stuck in a callback holds up every service on it, and Ping shows that
// before any of them fails.
func (s *Supervisor) Ping(ctx context.Context) error {
	if s.host == nil {
		return s.unbuilt()
	}
	if el := s.host.loop(); el != nil {
		return el.Ping(ctx)
	}
	return nil
}

// Logger is the logger the app logs to (see Logger, the option), for the
// components that report on the app, such as the ops and systemd modules;
// a no-op logger in an app whose build failed.
func (s *Supervisor) Logger() *zap.Logger {
	if s.host == nil {
		return zap.NewNop()
	}
	return s.host.log
}

// built returns why op cannot reach name when the app was not built.
func (s *Supervisor) built(op, name string) error {
	if s.host != nil {
		return nil
	}
	return fmt.Errorf("%s: service %q: %w", op, name, s.unbuilt())
}
