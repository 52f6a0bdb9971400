package app

import (
	"fmt"

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

// built returns why op cannot reach name when the app was not built.
func (s *Supervisor) built(op, name string) error {
	if s.host != nil {
		return nil
	}
	return fmt.Errorf("%s: service %q: %w", op, name, s.unbuilt())
}
