package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/internal/supervisor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

const (
	observerGroup = "hostfx.observers"
	defaultsGroup = "hostfx.defaults"
)

// host is the registry every service joins when fx constructs it. It owns
// the main event loop and turns a crash into an app shutdown.
type host struct {
	log        *zap.Logger
	shutdowner fx.Shutdowner
	observers  []lifecycle.Observer
	defaults   lifecycle.Settings
	clock      clockwork.Clock
	mainLoop   *loop.Engine
	halt       chan struct{} // closed when the app begins to stop; guarded by mu

	// childArgs are the arguments a process-mode service's child gets.
	childArgs []string
	argsSet   bool // ChildArgs or Test chose the children's arguments
	heartbeat time.Duration
	config    ServiceConfig
	// child is set when this process is a child for a process-mode service.
	child *childControl

	mu       sync.Mutex
	services []*supervisor.Service
	spares   []spare          // the process-mode services', in registration order
	names    map[string]*spec // registered services by name
	routes   map[string][]*member
	members  []*member     // in registration order, as services
	turn     atomic.Uint32 // where the router's next search begins
	// mainHosted is set when App.Run runs the main loop on the main thread.
	mainHosted bool
	mainHooked bool
	// mainRuns, when set, hands a function to the main thread, which App.Run
	// keeps free in a child whose service needs no main loop.
	mainRuns chan func()
	failure  error
	fxlog    fxevent.Logger // nil when fx logs to its default
}

type hostParams struct {
	fx.In

	Log        hostLog
	Shutdowner fx.Shutdowner
	Observers  []lifecycle.Observer `group:"hostfx.observers"`
	Defaults   []*serviceDefaults   `group:"hostfx.defaults"`
	Decls      services
	ChildArgs  childArgs      `optional:"true"`
	Heartbeat  childHeartbeat `optional:"true"`
	Config     ServiceConfig  `optional:"true"`
	Lifecycle  fx.Lifecycle
	// FxLog is the app's fx event logger when fx.WithLogger set one; Run
	// reports its stop there, as fx's own Run does.
	FxLog fxevent.Logger `optional:"true"`
}

func newHost(p hostParams) (*host, error) {
	log := p.Log.Logger
	if err := invalid(p.Decls.list); err != nil {
		return nil, err
	}
	if err := unknownSections(p.Config, p.Decls.list); err != nil {
		return nil, err
	}
	slices.SortFunc(p.Defaults, func(a, b *serviceDefaults) int { return int(a.seq - b.seq) })
	defaults := lifecycle.DefaultSettings()
	for _, d := range p.Defaults {
		defaults = defaults.With(d.opts...)
	}
	if err := defaults.Validate(); err != nil {
		return nil, fmt.Errorf("app.ServiceDefaults: %w", err)
	}
	if defaults.Replicas != 1 {
		return nil, fmt.Errorf("app.ServiceDefaults: lifecycle.Replicas(%d): replicas are a service's own; pass it to app.Service", defaults.Replicas)
	}
	if !defaults.Limits.IsZero() {
		return nil, fmt.Errorf("app.ServiceDefaults: %v: resource limits are a process service's own; pass them to app.Service", lifecycle.Limits(defaults.Limits))
	}
	if p.Config != nil && !p.Decls.configRead && proc.Current() == nil {
		return nil, errors.New("the configuration module is outside app.New or app.Module, which read it before they build " +
			"the graph: pass config.Module or config.Supply among the app's other options")
	}
	h := &host{
		log:        log,
		shutdowner: p.Shutdowner,
		observers:  append([]lifecycle.Observer{logEvents(log)}, p.Observers...),
		defaults:   defaults,
		clock:      clockwork.NewRealClock(),
		halt:       make(chan struct{}),
		names:      make(map[string]*spec),
		routes:     make(map[string][]*member),
		childArgs:  os.Args[1:],
		heartbeat:  time.Duration(p.Heartbeat),
		config:     p.Config,
	}
	if p.ChildArgs != nil {
		h.childArgs, h.argsSet = p.ChildArgs, true
	}
	if c := proc.Current(); c != nil {
		h.child = &childControl{conn: c, host: h, stopReq: make(chan struct{}, 1)}
	}
	h.mainLoop = loop.New(loop.Config{Name: "main", OnStall: h.stalled, Spin: true})
	h.fxlog = p.FxLog
	// The host's hook comes before every service's, since every service
	// needs the host: its start lets services start again after a stop, as
	// fx lets an app be started again, and spawns the children of all
	// process-mode services at once, each held until its service's own
	// hook starts it. Its stop comes after every service's, also when the
	// app's start failed midway: it ends the children no start took.
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			h.resume()
			h.prespawn()
			return nil
		},
		OnStop: func(context.Context) error {
			h.endSpares()
			return nil
		},
	})
	return h, nil
}

// register adopts a freshly constructed service. Its hook is appended now,
// right after the hooks of everything it depends on.
func (h *host) register(d *spec, instance any, lc fx.Lifecycle) error {
	svc, err := h.newService(d)
	if err != nil {
		return err
	}
	svc.Instance = instance
	switch svc.Mode {
	case modes.MainEventLoopAsync, modes.SeparateProcessAsync:
		// In its child, a SEPARATE_PROCESS_ASYNC service runs on the child's
		// main loop.
		h.hookMainLoop(lc)
		svc.Executor = executor.MainLoop{Loop: h.loop}
	case modes.SeparateThread:
		svc.Executor = executor.Thread{}
	case modes.SeparateProcess:
		// In its child, on the main thread when App.Run leaves it free.
		svc.Executor = executor.Thread{Reserved: h.onMainThread}
	case modes.SeparateThreadAsync:
		svc.Executor = executor.ThreadLoop{}
	}
	m := newMember(d, svc)
	start := svc.Start
	if d.mode.Process() {
		start = h.child.adopt(m)
	}
	h.adopt(m, lc, start, nil)
	return nil
}

// inTest reports whether this is a test binary: its testing package has
// registered its flags. testing.Testing says the same, but would link the
// testing package into every program.
func inTest() bool { return flag.Lookup("test.v") != nil }

// registerProcess adopts a process-mode service in the parent: each run of
// it is a fresh child process.
func (h *host) registerProcess(d *spec, lc fx.Lifecycle) error {
	if inTest() && !h.argsSet {
		// The test binary's own arguments would re-run every test.
		return d.errorf("in a test, a child process must re-run only that test: pass app.Test(t) to the app")
	}
	svc, err := h.newService(d)
	if err != nil {
		return err
	}
	exec := proc.Executor{Log: h.log, Args: h.childArgs, App: filepath.Base(os.Args[0]), Heartbeat: h.heartbeat,
		Limits: svc.Settings.Limits, Spares: &proc.Spares{Warm: svc.Settings.WarmSpare}}
	svc.Executor = exec
	h.mu.Lock()
	h.spares = append(h.spares, spare{exec: exec, spec: executor.Spec{Name: svc.Name, StopTimeout: svc.Settings.StopTimeout}})
	h.mu.Unlock()
	h.adopt(newMember(d, svc), lc, svc.Start, exec.Spares)
	return nil
}

// spare is a process-mode service's executor, which holds its spare child,
// and what a spare of it is spawned for.
type spare struct {
	exec proc.Executor
	spec executor.Spec
}

// prespawn spawns a child for every process-mode service at once, each
// held before it builds its service until that service's start takes it:
// the children's exec and runtime start overlap, while the services still
// start one after another, in dependency order.
func (h *host) prespawn() {
	h.mu.Lock()
	spares := slices.Clone(h.spares)
	h.mu.Unlock()
	ahead := !proc.NoPrespawn.Load()
	for _, s := range spares {
		s.exec.Spares.Open()
		if ahead {
			s.exec.Prespawn(s.spec)
		}
	}
}

// endSpares ends every held child, and waits until they have exited.
func (h *host) endSpares() {
	h.mu.Lock()
	spares := slices.Clone(h.spares)
	h.mu.Unlock()
	for _, s := range spares {
		s.exec.Spares.Close()
	}
}

func (h *host) newService(d *spec) (*supervisor.Service, error) {
	h.mu.Lock()
	first, taken := h.names[d.name]
	if !taken {
		h.names[d.name] = d
	}
	h.mu.Unlock()
	if taken {
		return nil, d.errorf("the name is already taken by the service registered at %s; service names must be unique", first.at)
	}
	svc := &supervisor.Service{
		Name:     d.name,
		Mode:     d.mode,
		Settings: h.defaults.With(d.opts...),
		Sources:  d.sources,
		Observe:  h.observe,
		OnGiveUp: h.gaveUp,
		Clock:    h.clock,
		Halt:     h.halted,
	}
	if h.config != nil {
		// Configuration wins over code; the app chose the mode already.
		_, opts, _ := h.config.ServiceOptions(d.decl.name)
		svc.Settings = svc.Settings.With(opts...)
		if err := svc.Settings.Validate(); err != nil {
			return nil, d.errorf("configuration: %v", err)
		}
	}
	if !svc.Settings.Limits.IsZero() && !d.mode.Process() {
		return nil, d.errorf("resource limits (%v) need a process mode, SEPARATE_PROCESS or SEPARATE_PROCESS_ASYNC: "+
			"a service in the app's own process shares its memory, files and CPU time", svc.Settings.Limits)
	}
	return svc, nil
}

// adopt lists svc and appends its hook; spares, if not nil, are its
// process-mode service's, which its stop ends.
func (h *host) adopt(m *member, lc fx.Lifecycle, start func(context.Context) error, spares *proc.Spares) {
	h.mu.Lock()
	h.services = append(h.services, m.svc)
	h.members = append(h.members, m)
	h.mu.Unlock()
	h.join(m)
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			m.starting()
			return start(ctx)
		},
		OnStop: func(ctx context.Context) error {
			// The first service to stop halts them all, so nothing restarts
			// while the app is going down.
			h.haltAll()
			spares.Close() // nothing takes a spare once the app halts
			// Calls under way may finish first, within half the service's
			// stop budget: one that waits for its context to end waits that
			// long, and leaves the rest to the stop.
			drain, cancel := context.WithTimeout(ctx, m.svc.Settings.StopTimeout/2)
			m.stopping(drain)
			cancel()
			return m.svc.Stop(ctx)
		},
	})
}

func (h *host) observe(e lifecycle.Event) {
	for _, o := range h.observers {
		o(e)
	}
}

func (h *host) stalled(s loop.Stall) {
	h.observe(supervisor.StallEvent(s))
}

// gaveUp handles a service that failed for good: it stops the app with a
// non-zero exit code, unless the service was set to fail alone.
func (h *host) gaveUp(s *supervisor.Service, err error) {
	if !s.Settings.FailAlone {
		h.fail(fmt.Errorf("service %q (%v) gave up: %w", s.Name, s.Mode, err))
	}
}

func (h *host) fail(err error) {
	h.mu.Lock()
	first := h.failure == nil
	if first {
		h.failure = err
	}
	h.mu.Unlock()
	if first {
		_ = h.shutdowner.Shutdown(fx.ExitCode(1))
	}
}

// haltAll makes a start in progress give up and stops all restarts, so the
// app can stop.
func (h *host) haltAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !chans.Closed(h.halt) {
		close(h.halt)
	}
}

// resume lets services start again after the app stopped.
func (h *host) resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if chans.Closed(h.halt) {
		h.halt = make(chan struct{})
	}
}

func (h *host) halted() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.halt
}

func (h *host) failed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failure
}

// busy names the services that have not finished stopping.
func (h *host) busy() string {
	services := h.supervised() // a service takes its own lock, and then the host's, as it fails
	var names []string
	for _, s := range services {
		if st := s.State(); st == lifecycle.StateRunning || st == lifecycle.StateStopping || st == lifecycle.StateStarting || st == lifecycle.StateBackoff {
			names = append(names, fmt.Sprintf("%s (%v)", s.Name, st))
		}
	}
	return strings.Join(names, ", ")
}

// supervised lists the services, in registration order.
func (h *host) supervised() []*supervisor.Service {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.services)
}

// status lists a snapshot of every service, in start order.
func (h *host) status() []lifecycle.Status {
	services := h.supervised()
	out := make([]lifecycle.Status, len(services))
	for i, s := range services {
		out[i] = s.Status()
	}
	return out
}

// logEvents logs lifecycle events. A child logs only what the parent cannot
// see for itself, a crash's stack and a stall, since the parent reports the
// service's life from its side.
func logEvents(log *zap.Logger) lifecycle.Observer {
	observe := lifecycle.ZapObserver(log)
	if proc.Current() == nil {
		return observe
	}
	return func(e lifecycle.Event) {
		switch e.(type) {
		case *lifecycle.Crashed, *lifecycle.Stalled:
			observe(e)
		}
	}
}
