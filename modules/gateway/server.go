package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/internal/hookorder"
)

// Server is the gateway's HTTP server. Module provides it; a test takes it
// to learn the address.
type Server struct {
	settings settings
	states   *states
	status   func() []lifecycle.Status
	log      *zap.Logger
	metrics  *metrics

	mu       sync.Mutex
	addr     string
	srv      *http.Server
	gw       *gateway
	backends []*backend
	served   chan struct{}      // closed when Serve returns
	cut      context.CancelFunc // ends the context of every request
}

// serverParams are what the server takes from the graph.
type serverParams struct {
	fx.In

	Supervisor *app.Supervisor
	Lifecycle  fx.Lifecycle
	Settings   *Settings             `optional:"true"`
	Registerer prometheus.Registerer `optional:"true"`
	Logger     *zap.Logger           `optional:"true"`
}

// newServer builds the server and appends the hook that listens: it is
// built early (Module provides it from a module of its own, whose invoke
// fx runs first), so the gateway answers, with 503, while the services
// start.
func newServer(code settings, st *states, p serverParams) (*Server, error) {
	s, err := code.merge(p.Settings)
	if err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := checkRoutes(s.routes); err != nil {
		return nil, err
	}
	m := newMetrics()
	if err := m.register(p.Registerer); err != nil {
		return nil, err
	}
	st.status = p.Supervisor.Status
	srv := &Server{settings: s, states: st, status: p.Supervisor.Status, log: p.Logger, metrics: m}
	if srv.log == nil {
		srv.log = p.Supervisor.Logger()
	}
	p.Lifecycle.Append(fx.Hook{OnStart: srv.start, OnStop: srv.stop})
	return srv, nil
}

// Addr returns the address the gateway listens on, such as
// "127.0.0.1:8080", or "" when it does not listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// start resolves the routes against the app's services and listens.
func (s *Server) start(context.Context) error {
	gw := &gateway{settings: s.settings, metrics: s.metrics, states: s.states, log: s.log}
	routes, backends, err := s.resolve(gw)
	if err != nil {
		return err
	}
	gw.table = newTable(routes)
	ln, err := net.Listen("tcp", s.settings.Addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s (from %s): %w", s.settings.Addr, s.settings.addrFrom, err)
	}
	base, cut := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:                      gw,
		ReadHeaderTimeout:            s.settings.HeaderTimeout,
		IdleTimeout:                  s.settings.IdleTimeout,
		MaxHeaderBytes:               s.settings.MaxHeaderBytes,
		ErrorLog:                     zap.NewStdLog(s.log),
		BaseContext:                  func(net.Listener) context.Context { return base },
		DisableGeneralOptionsHandler: true, // "OPTIONS *" is refused like any request without a path
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.addr, s.srv, s.gw, s.backends, s.served, s.cut = ln.Addr().String(), srv, gw, backends, served, cut
	s.mu.Unlock()
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gateway stopped", zap.Error(err))
		}
	}()
	s.log.Info("gateway listening", zap.String("addr", ln.Addr().String()), zap.Int("routes", len(routes)))
	return nil
}

// resolve finds the services of the routes and builds a backend for each.
func (s *Server) resolve(gw *gateway) ([]*route, []*backend, error) {
	statuses := s.status()
	var all []*backend
	proxies := map[string]*backend{} // by service and address: routes to one share its connections
	proxy := func(b *backend, network, address string) {
		key := b.service + " " + network + " " + address
		if p, ok := proxies[key]; ok {
			b.serve = p.serve
			return
		}
		gw.proxy(b, network, address)
		proxies[key] = b
	}
	routes := make([]*route, 0, len(s.settings.routes))
	for _, d := range s.settings.routes {
		ms := members(d.service, statuses)
		if len(ms) == 0 {
			return nil, nil, unknownService(d, statuses)
		}
		if len(ms) > 1 && !perReplica(d.target) {
			return nil, nil, fmt.Errorf("gateway: %s: service %q has %d replicas, which cannot all listen at one address: "+
				"put %s in it, for each replica's number", d.from, d.service, len(ms), replicaVar)
		}
		host, p, _ := parsePattern(d.pattern) // checked when the module was built
		rt := &route{host: host, path: p, pattern: host + p, service: d.service}
		for _, m := range ms {
			b := &backend{service: m.service}
			switch t := d.target.(type) {
			case tcpTarget:
				proxy(b, "tcp", at(string(t), m.replica))
			case unixTarget:
				proxy(b, "unix", at(string(t), m.replica))
			case handlerTarget:
				h := t.handler
				if d.built != nil {
					h = d.built.handler
				}
				b.serve = gw.inProcess(h)
			}
			rt.backends = append(rt.backends, b)
			all = append(all, b)
		}
		routes = append(routes, rt)
	}
	return routes, all, nil
}

// perReplica reports whether t can tell replicas apart: an address with
// "{replica}", or a handler, which serves them all.
func perReplica(t Target) bool {
	switch t := t.(type) {
	case tcpTarget:
		return containsReplica(string(t))
	case unixTarget:
		return containsReplica(string(t))
	}
	return true
}

// gate appends the hook that drains the gateway before any service stops.
// Module invokes it after every app.Service, so fx runs its OnStop before
// every service's.
func (s *Server) gate(lc fx.Lifecycle, sup *app.Supervisor) {
	last := hookorder.Mark("gateway.Module", sup.Status)
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error { return last.Check() },
		OnStop:  s.stop,
	})
}
