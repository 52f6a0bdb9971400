package app

import "github.com/hostfx/hostfx/lifecycle"

// Supervisor reports on the app's services and reaches its process-mode
// services in their children (Call, Dial). Constructors may depend on
// *Supervisor, for example to serve a health endpoint.
type Supervisor struct{ host *host }

func newSupervisor(h *host) *Supervisor { return &Supervisor{host: h} }

// Status returns a snapshot of every service, in start order.
func (s *Supervisor) Status() []lifecycle.Status { return s.host.status() }

// Status returns a snapshot of every service, in start order.
func (a *App) Status() []lifecycle.Status {
	if a.host == nil {
		return nil
	}
	return a.host.status()
}
