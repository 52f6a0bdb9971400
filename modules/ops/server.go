package ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modules/internal/hookorder"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

// Limits of the ops server's connections: probes and scrapes are small
// and local, so anything slow is a client to drop.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second // a large scrape
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Server serves the ops endpoints: /livez, /readyz, /metrics and the
// status page. Module provides it; a test takes it to learn the address.
type Server struct {
	settings settings
	probes   *probes
	page     *statusPage
	handler  http.Handler
	log      *zap.Logger
	metrics  *metrics

	mu      sync.Mutex
	addr    string
	srv     *http.Server
	served  chan struct{} // closed when Serve returns
	sampled chan struct{} // closed when the lag sampler has ended
	endLag  func()
}

// serverParams are what the server takes from the graph.
type serverParams struct {
	fx.In

	Supervisor *app.Supervisor
	Lifecycle  fx.Lifecycle
	Settings   *Settings             `optional:"true"`
	Checks     []Check               `group:"hostfx.ops.checks"`
	Registerer prometheus.Registerer `optional:"true"`
	Gatherer   prometheus.Gatherer   `optional:"true"`
	Logger     *zap.Logger           `optional:"true"`
	// Other modules' collectors, such as the gateway's, for the module's
	// own registry when the program has none.
	Collectors []prometheus.Collector `group:"hostfx.metrics"`
}

// newServer builds the server and appends the hook that listens: it is
// built early (Module provides it from a module of its own, whose invoke
// fx runs first), so the probes answer while the services start and stop.
func newServer(code settings, events *relay, p serverParams) (*Server, error) {
	s := code.merge(p.Settings)
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := validateChecks(p.Checks); err != nil {
		return nil, err
	}
	// fx shuffles a value group: sort, so the probes list the checks in
	// the same order each time.
	slices.SortFunc(p.Checks, func(a, b Check) int { return strings.Compare(a.Name, b.Name) })
	live := liveness.New(p.Supervisor.Status)
	srv := &Server{
		settings: s,
		probes:   &probes{live: live, ping: p.Supervisor.Ping, settings: s, checks: p.Checks},
		log:      p.Logger,
	}
	if srv.log == nil {
		srv.log = p.Supervisor.Logger()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", srv.probes.handleAll("livez", false))
	mux.HandleFunc("GET /livez/{check...}", srv.probes.handleOne(false))
	mux.HandleFunc("GET /readyz", srv.probes.handleAll("readyz", true))
	mux.HandleFunc("GET /readyz/{check...}", srv.probes.handleOne(true))
	m := newMetrics(live, s.CheckTimeout)
	gatherer, err := registerMetrics(m, p.Registerer, p.Gatherer, p.Collectors)
	if err != nil {
		return nil, err
	}
	events.to.Store(m)
	srv.metrics = m
	srv.page = newStatusPage(live, s)
	srv.page.routes(mux)
	events.page.Store(srv.page)
	if gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
			ErrorLog:      zap.NewStdLog(srv.log),
		}))
	}
	srv.handler = mux
	p.Lifecycle.Append(fx.Hook{OnStart: srv.start, OnStop: srv.stop})
	return srv, nil
}

// registerMetrics registers m with the program's registry, or with a
// registry of the module's own that also has the Go runtime's and the
// process's metrics, and returns what /metrics serves: the program's
// Gatherer, its Registerer if that is one, or the module's registry. It
// returns a nil Gatherer when the program has a registry and serves it
// itself.
func registerMetrics(m *metrics, reg prometheus.Registerer, gat prometheus.Gatherer, others []prometheus.Collector) (prometheus.Gatherer, error) {
	if reg == nil {
		own := prometheus.NewRegistry()
		own.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		for _, c := range others { // registered with the program's registry otherwise
			if err := own.Register(c); err != nil {
				return nil, fmt.Errorf("ops: register another module's metrics: %w", err)
			}
		}
		reg, gat = own, own
	}
	if err := m.register(reg); err != nil {
		return nil, fmt.Errorf("ops: register the metrics: %w", err)
	}
	if gat == nil {
		gat, _ = reg.(prometheus.Gatherer)
	}
	return gat, nil
}

// Addr returns the address the server listens on, such as
// "127.0.0.1:8181", or "" when it does not listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

func (s *Server) start(context.Context) error {
	ln, err := net.Listen("tcp", s.settings.Addr)
	if err != nil {
		return fmt.Errorf("ops: listen on %s (from %s): %w", s.settings.Addr, s.settings.addrFrom, err)
	}
	s.probes.phase.Store(phaseStarting)
	s.page.open()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(s.log),
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.addr, s.srv, s.served = ln.Addr().String(), srv, served
	s.mu.Unlock()
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ops server stopped", zap.Error(err))
		}
	}()
	s.startLagSampler()
	s.log.Info("ops endpoints listening", zap.String("addr", ln.Addr().String()))
	return nil
}

// lagEvery is how often the loops' lag is sampled for its histogram.
const lagEvery = time.Second

// startLagSampler samples how late each event loop is, every lagEvery,
// until stop.
func (s *Server) startLagSampler() {
	ctx, cancel := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	s.mu.Lock()
	s.sampled, s.endLag = sampled, cancel
	s.mu.Unlock()
	go func() {
		defer close(sampled)
		tick := s.settings.clock.NewTicker(lagEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.Chan():
				s.metrics.sampleLag(ctx)
			}
		}
	}()
}

// stop ends the server once the services have stopped: its hook is
// appended before theirs.
func (s *Server) stop(ctx context.Context) error {
	s.mu.Lock()
	srv, served, sampled, endLag := s.srv, s.served, s.sampled, s.endLag
	s.addr, s.srv, s.sampled, s.endLag = "", nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	endLag()
	<-sampled
	s.page.close() // its streams never go idle: Shutdown would wait for them
	err := srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("ops: stop the server: %w", err), srv.Close())
	}
	<-served
	s.log.Info("ops endpoints closed")
	return err
}

// gate appends the hook that says when the app is ready and when it
// begins to stop. Module invokes it after every app.Service, so fx runs
// its OnStart after every service's and its OnStop before any service's.
func (s *Server) gate(lc fx.Lifecycle, sup *app.Supervisor) {
	last := hookorder.Mark("ops.Module", sup.Status)
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			if err := last.Check(); err != nil {
				return err
			}
			if err := s.probes.checkExcepted(sup.Status()); err != nil {
				return err
			}
			s.probes.phase.Store(phaseStarted)
			return nil
		},
		OnStop: func(ctx context.Context) error {
			s.probes.phase.Store(phaseStopping)
			if s.settings.ShutdownDelay > 0 {
				s.log.Info("readiness fails; waiting before the services stop", zap.Duration("shutdown_delay", s.settings.ShutdownDelay))
				select {
				case <-s.settings.clock.After(s.settings.ShutdownDelay):
				case <-ctx.Done(): // the stop's own budget is spent: go on stopping
				}
			}
			return nil
		},
	})
}
