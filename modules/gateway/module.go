package gateway

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modules/internal/metricset"
)

// Module runs the gateway: one HTTP address, DefaultAddr unless Addr or
// the configuration says otherwise, in front of the services that Route
// declares.
//
// Pass it after every app.Service, at the top level of app.New or
// app.Module, and before ops.Module: its last hook must come after every
// service's, so that it stops taking requests and drains those under way
// before any service stops; start fails, naming the services, when it does
// not. After ops.Module's, it stops once /readyz has failed for the
// shutdown delay.
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
	code.routes = slices.Clone(code.routes)
	st := newStates(code.clock)
	handlers := make([]fx.Option, 0, len(code.routes))
	for i, d := range code.routes {
		if t, ok := d.target.(handlerTarget); ok && t.ctor {
			code.routes[i].built = &built{}
			handlers = append(handlers, buildHandler(t.given, i, code.routes[i].built))
		}
	}
	return fx.Options(
		app.Observe(st.observe),
		// A module of its own: fx runs a module's invokes before those of
		// the options around it, so the server's hook comes before the
		// services' and it answers while they start.
		fx.Module("gateway",
			fx.Provide(func(p serverParams) (*Server, error) { return newServer(code, st, p) }),
			fx.Invoke(func(*Server) {}),
		),
		// For the ops module's registry, when the program has none.
		fx.Provide(fx.Annotated{Group: metricset.Group, Target: func(s *Server) prometheus.Collector { return s.metrics }}),
		// After the services: a constructor that takes one builds on what
		// is built already, leaving their order alone.
		fx.Options(handlers...),
		fx.Invoke(func(s *Server, lc fx.Lifecycle, sup *app.Supervisor) { s.gate(lc, sup) }),
	)
}

// buildHandler has fx call the constructor of route i's handler and keep
// what it returns in b.
func buildHandler(ctor any, i int, b *built) fx.Option {
	name := fmt.Sprintf(`name:"hostfx.gateway.handler.%d"`, i)
	return fx.Options(
		fx.Provide(fx.Annotate(ctor, fx.As(new(http.Handler)), fx.ResultTags(name))),
		fx.Invoke(fx.Annotate(func(h http.Handler) { b.handler = h }, fx.ParamTags(name))),
	)
}
