package ops

import (
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
)

// Module serves the ops endpoints: /livez, /readyz, /metrics and the
// status page /status/, on DefaultAddr unless Addr or the configuration
// says otherwise.
//
// Pass it after every app.Service, at the top level of app.New or
// app.Module: its last hook must come after every service's, so that
// /readyz passes only once they have all started and fails before any of
// them stops. Start fails, naming the services, when it does not.
//
// It runs in the app's own process only: a process-mode service's child
// leaves out its invokes.
func Module(opts ...Option) fx.Option {
	code := defaultSettings()
	for _, o := range opts {
		if o != nil {
			o.apply(&code)
		}
	}
	events := &relay{}
	return fx.Options(
		app.Observe(events.observe),
		// A module of its own: fx runs a module's invokes before those of
		// the options around it, so the server's hook comes before the
		// services' and it answers while they start and stop.
		fx.Module("ops",
			fx.Provide(func(p serverParams) (*Server, error) { return newServer(code, events, p) }),
			fx.Invoke(func(*Server) {}),
		),
		fx.Invoke(func(s *Server, lc fx.Lifecycle, sup *app.Supervisor) { s.gate(lc, sup) }),
	)
}
