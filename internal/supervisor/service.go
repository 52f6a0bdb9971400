package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// ErrAborted is returned by a start cut short because the app is stopping.
var ErrAborted = errors.New("start aborted: the app is stopping")

// errStopped ends a restart that a stop overtook.
var errStopped = errors.New("stopped while starting")

// errDetached marks a run that ignored its stop and was left running.
var errDetached = errors.New("was detached")

// Service is one supervised service.
type Service struct {
	Name     string
	Mode     modes.ExecutionMode
	Settings lifecycle.Settings
	Executor executor.Executor
	Instance any
	Observe  lifecycle.Observer
	// OnGiveUp is called when the service failed and will not be restarted.
	OnGiveUp func(s *Service, err error)
	// OnExit is called when the service ended without failing and will not
	// be restarted; err is nil or wraps lifecycle.ErrNoRestart.
	OnExit func(s *Service, err error)
	// OnStarted is called each time a run has started, before its Started
	// event, on the goroutine that saw it start (the run's loop, for one
	// supervised there): nothing about the run's end is reported before it
	// returns. A child tells its parent the service started with it.
	OnStarted func(s *Service)
	Clock     clockwork.Clock
	// Halt returns a channel that, once closed, means the app is stopping:
	// a start in progress gives up, and nothing starts or restarts any more.
	// Nil means never.
	Halt func() <-chan struct{}
	// Rand draws backoff jitter; nil means a randomly seeded source.
	Rand *rand.Rand
	// Sources says where settings came from, by setting name, when not
	// from code; it is reported in the Starting event.
	Sources map[string]string
	// ForwardAlive, when set, takes the service's signs of life instead of
	// a watchdog here: a child passes them on to its parent, which watches
	// them.
	ForwardAlive func()

	mu       sync.Mutex
	state    lifecycle.State
	since    time.Time
	stop     chan struct{} // closed by Stop: supervision ends
	finished chan struct{} // closed when supervision has ended
	cur      *run          // the current or last run
	stopErr  error         // how the last run ended under Stop, or after the app's halt
	// haltEnded: supervision ended on the app's halt, before Stop. The
	// app stops every service after its halt, and that Stop reports the
	// end, as if it had come during the stop.
	haltEnded bool
	restarts  int
	lastErr   error
	lastAt    time.Time
	// handoff takes a replacement's run to the supervise goroutine, which
	// makes it the current one (see Replace).
	handoff chan handoff
	// replacing is closed when the replacement under way, if any, has
	// ended: its runs have started and stopped as it decided.
	replacing chan struct{}

	// Restart bookkeeping, touched only where the service is supervised at
	// the time (see decide).
	attempt int    // restarts since the service last ran stably
	recent  window // restarts within the intensity window
}

// run is one launch of the entry point.
type run struct {
	executor.Run
	began time.Time
	ended <-chan struct{} // closed once Wait returned; err is then set
	err   error
	// phase says who reported a run with a Restarter started: its loop,
	// which then supervises it in place (see inPlace), or confirm, which
	// gave up on it first.
	phase atomic.Int32
	// Written on the run's loop, read there or once ended is closed.
	restarted time.Time // when it last restarted in place
	decided   bool      // its end was seen to on the loop
	wd        *watchdog // nil without one here

	// Leases taken on the run (see Use). Once a replacement has retired
	// the run, the lease that ends last signals idle.
	uses     atomic.Int64
	retiring atomic.Bool
	idle     chan struct{} // made before retiring is set
}

const (
	pending   = iota
	onLoop    // started, reported and supervised on its loop
	abandoned // confirm gave up on it
)

// since is when the entry point that ended last began.
func (r *run) since() time.Time {
	if r.restarted.IsZero() {
		return r.began
	}
	return r.restarted
}

// Status returns a snapshot of the service.
func (s *Service) Status() lifecycle.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := lifecycle.Status{
		Service: s.Name, Mode: s.Mode, State: s.state, Since: s.since,
		Restarts: s.restarts, LastError: s.lastErr, LastErrorAt: s.lastAt,
	}
	if s.cur != nil {
		st.PID, st.TID = executor.PID(s.cur.Run), s.cur.TID()
		if l, ok := s.cur.Run.(interface{ Lag() time.Duration }); ok && s.state == lifecycle.StateRunning {
			st.Lag = l.Lag()
		}
	}
	return st
}

// Current returns the run of the moment, or nil before the first launch.
func (s *Service) Current() executor.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	return s.cur.Run
}

// State returns the service's current state.
func (s *Service) State() lifecycle.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// setState moves to st; s.mu must be held.
func (s *Service) setState(st lifecycle.State) { s.setStateAt(st, s.Clock.Now()) }

func (s *Service) setStateAt(st lifecycle.State, now time.Time) { s.state, s.since = st, now }

// Start launches the service and returns once it has started, or the
// reason it did not. From then on the service is supervised until Stop.
func (s *Service) Start(ctx context.Context) error {
	if err := s.prepare(); err != nil {
		return err
	}
	r, err := s.launch(ctx)
	if err != nil {
		s.stopped(err)
		return err
	}
	s.supervised(r)
	return nil
}

// supervised begins the supervision of a run that has started.
func (s *Service) supervised(r *run) { go s.supervise(r) }

// prepare moves a service that is not running to starting.
func (s *Service) prepare() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case lifecycle.StateStarting, lifecycle.StateRunning, lifecycle.StateBackoff, lifecycle.StateStopping:
		return fmt.Errorf("service %q: start while %v", s.Name, s.state)
	}
	s.setState(lifecycle.StateStarting)
	s.stop, s.finished = make(chan struct{}), make(chan struct{})
	s.handoff = make(chan handoff)
	s.stopErr, s.haltEnded = nil, false
	s.attempt = 0
	s.recent.reset()
	if s.Rand == nil {
		s.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return nil
}

// stopped marks a service that did not start, for err, as stopped. Its
// status keeps err as the last error, unless the start was cut short by
// the app's stop, which is no failure of the service.
func (s *Service) stopped(err error) {
	s.mu.Lock()
	s.setState(lifecycle.StateStopped)
	if !errors.Is(err, ErrAborted) && !errors.Is(err, errStopped) {
		s.lastErr, s.lastAt = err, s.since
	}
	s.mu.Unlock()
	close(s.finished)
}

// launch starts one run as the current one and waits until it has
// started. A run that does not start is stopped, within the stop timeout,
// before launch returns.
func (s *Service) launch(ctx context.Context) (*run, error) { return s.launchAs(ctx, true) }

// launchAs is launch; a run that is not made current at once, a
// replacement's, becomes current only once it has started, by handoff.
func (s *Service) launchAs(ctx context.Context, current bool) (*run, error) {
	if chans.Closed(s.halt()) {
		return nil, fmt.Errorf("service %q: %w", s.Name, ErrAborted)
	}
	s.starting()
	r := s.newRun() // before Launch: the run's start time must not follow what the run does
	s.track(r, s.Executor.Launch(s.spec(r)))
	if current {
		s.mu.Lock()
		s.cur = r
		s.mu.Unlock()
	}
	return r, s.confirm(ctx, r)
}

func (s *Service) newRun() *run { return &run{began: s.Clock.Now()} }

func (s *Service) starting() {
	s.Observe(&lifecycle.Starting{Service: s.Name, Mode: s.Mode, Settings: s.Settings, Sources: s.Sources})
}

// spec describes a launch of r.
func (s *Service) spec(r *run) executor.Spec {
	spec := executor.Spec{
		Name:         s.Name,
		Service:      s.Instance,
		WaitForReady: s.Settings.WaitForReady,
		OnStall:      s.stalled,
		StopTimeout:  s.Settings.StopTimeout,
	}
	if s.Settings.Restart.Kind == lifecycle.StrategyImmediate && !s.Settings.WaitForReady {
		spec.Restarter = inPlace{s: s, r: r}
	}
	s.watch(r, &spec)
	return spec
}

// track watches r, freshly launched, end.
func (s *Service) track(r *run, launched executor.Run) {
	ended := make(chan struct{})
	r.Run, r.ended = launched, ended
	go func() {
		r.err = r.Wait()
		close(ended)
	}()
}

// confirm waits until r has started, or says why it did not. A run that
// did not start is stopped.
func (s *Service) confirm(ctx context.Context, r *run) error {
	// A loop service usually starts within microseconds, on a thread that
	// would otherwise have to wake this one; other runs take far longer.
	if executor.StartsOnLoop(r.Run) {
		chans.Spin(func() bool { return chans.Closed(r.Ready()) || chans.Closed(r.ended) })
	}
	timeout := s.Clock.NewTimer(s.Settings.StartTimeout)
	defer timeout.Stop()
	var err error
	select {
	case <-r.Ready():
	case <-r.ended:
		err = r.err
		if err == nil {
			err = errors.New("entry point returned before the service was ready")
		}
	case <-timeout.Chan():
		err = &lifecycle.TimeoutError{Service: s.Name, Phase: "start", Timeout: s.Settings.StartTimeout}
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.halt():
		err = ErrAborted
	case <-s.stop:
		err = errStopped
	}
	// Readiness wins over whatever else woke us: a service that became
	// ready and then ended at once did start, and then ended. So does one
	// whose loop reported it started first.
	if chans.Closed(r.Ready()) || !r.phase.CompareAndSwap(pending, abandoned) {
		err = nil
	} else {
		err = s.abandon(r, err)
	}
	if r.phase.Load() == onLoop {
		return nil // its loop has reported it
	}
	now := s.Clock.Now()
	if err == nil {
		s.running(now)
	}
	s.started(r.Run, now.Sub(r.began), err)
	return err
}

// started reports how a start of the entry point went.
func (s *Service) started(r executor.Run, took time.Duration, err error) {
	if err == nil && s.OnStarted != nil {
		s.OnStarted(s)
	}
	s.Observe(&lifecycle.Started{Service: s.Name, Mode: s.Mode, PID: executor.PID(r), TID: r.TID(), Duration: took, Err: err})
}

func (s *Service) running(now time.Time) {
	s.mu.Lock()
	if s.state == lifecycle.StateStarting {
		s.setStateAt(lifecycle.StateRunning, now)
	}
	s.mu.Unlock()
}

// abandon stops a run that failed to start and says how it went.
func (s *Service) abandon(r *run, cause error) error {
	executor.Abort(r.Run, fmt.Sprintf("did not start: %v", cause))
	var te *lifecycle.TimeoutError
	if !errors.As(cause, &te) { // a TimeoutError names the service already
		cause = fmt.Errorf("service %q (%v): start: %w", s.Name, s.Mode, cause)
	}
	timeout := s.Clock.NewTimer(s.Settings.StopTimeout + executor.Grace(r.Run))
	defer timeout.Stop()
	select {
	case <-r.ended:
		// A run that failed to start by ending has its error in cause.
		if r.err != nil && !errors.Is(r.err, context.Canceled) && !errors.Is(cause, r.err) {
			return fmt.Errorf("%w; the run ended with: %w", cause, r.err)
		}
		return cause
	case <-timeout.Chan():
		return stuck(r.Run, fmt.Errorf("%w; then it ignored its stop for %v and %w", cause, s.Settings.StopTimeout, errDetached))
	}
}

func (s *Service) halt() <-chan struct{} {
	if s.Halt == nil {
		return nil
	}
	return s.Halt()
}
