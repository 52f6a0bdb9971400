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
	"github.com/hostfx/hostfx/internal/loop"
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
	Clock  clockwork.Clock
	// Halt returns a channel that, once closed, means the app is stopping:
	// a start in progress gives up, and nothing starts or restarts any more.
	// Nil means never.
	Halt func() <-chan struct{}
	// Rand draws backoff jitter; nil means a randomly seeded source.
	Rand *rand.Rand
	// Sources says where settings came from, by setting name, when not
	// from code; it is reported in the Starting event.
	Sources map[string]string

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
		s.stopped()
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
	s.stopErr, s.haltEnded = nil, false
	s.attempt = 0
	s.recent.reset()
	if s.Rand == nil {
		s.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return nil
}

// stopped marks a service that did not start as stopped.
func (s *Service) stopped() {
	s.mu.Lock()
	s.setState(lifecycle.StateStopped)
	s.mu.Unlock()
	close(s.finished)
}

// launch starts one run and waits until it has started. A run that does
// not start is stopped, within the stop timeout, before launch returns.
func (s *Service) launch(ctx context.Context) (*run, error) {
	if chans.Closed(s.halt()) {
		return nil, fmt.Errorf("service %q: %w", s.Name, ErrAborted)
	}
	s.starting()
	r := s.newRun() // before Launch: the run's start time must not follow what the run does
	s.track(r, s.Executor.Launch(s.spec(r)))
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
	return spec
}

// track makes r, freshly launched, the current run and watches it end.
func (s *Service) track(r *run, launched executor.Run) {
	ended := make(chan struct{})
	r.Run, r.ended = launched, ended
	go func() {
		r.err = r.Wait()
		close(ended)
	}()
	s.mu.Lock()
	s.cur = r
	s.mu.Unlock()
}

// starts spins for services' starts while spinning pays.
var starts chans.Spinner

// confirm waits until r has started, or says why it did not. A run that
// did not start is stopped.
func (s *Service) confirm(ctx context.Context, r *run) error {
	// A loop service usually starts within microseconds, on a thread that
	// would otherwise have to wake this one.
	starts.Spin(func() bool { return chans.Closed(r.Ready()) || chans.Closed(r.ended) })
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
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			return fmt.Errorf("%w; the run ended with: %w", cause, r.err)
		}
		return cause
	case <-timeout.Chan():
		return fmt.Errorf("%w; then it ignored its stop for %v and %w", cause, s.Settings.StopTimeout, errDetached)
	}
}

// supervise watches runs end and restarts them until Stop, or until the
// service exits or gives up.
func (s *Service) supervise(r *run) {
	defer close(s.finished)
	for {
		select {
		case <-r.ended:
		case <-s.stop:
			r.Stop()
			<-r.ended // Stop's timeout detaches a run that never ends
			if !r.decided {
				s.mu.Lock()
				s.stopErr = r.err
				s.mu.Unlock()
			}
			return
		}
		if r.decided { // its loop has seen to its end already
			return
		}
		delay, ok := s.decide(r, r.Run, r.err, s.Clock.Now())
		if !ok {
			return
		}
		if !s.sleep(delay) || !s.enter(lifecycle.StateStarting) {
			s.settle()
			return
		}
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
		next, err := s.launch(context.Background())
		cut := errors.Is(err, errStopped) || errors.Is(err, ErrAborted) // by a stop or the halt
		switch {
		case cut:
			if errors.Is(err, errDetached) {
				// The restart ignored what cut it short, and runs on: the
				// stop says so.
				s.mu.Lock()
				s.stopErr = err
				s.mu.Unlock()
			}
			s.settle()
			return
		case errors.Is(err, errDetached):
			// The old run may still be running: another would be a second
			// copy of the service at once.
			s.giveUp(err, s.recent.len())
			return
		case err != nil:
			// A restart that fails to start is one more failure.
			next = &run{Run: next.Run, began: s.Clock.Now(), ended: chans.Done, err: err}
		}
		r = next
	}
}

// decide reports the end of a run that nobody asked for and says whether
// to restart it, and after what delay. It runs where the run is
// supervised at the time: on the supervise goroutine, or on the run's loop.
func (s *Service) decide(r *run, er executor.Run, err error, now time.Time) (time.Duration, bool) {
	if now.Sub(r.since()) >= s.Settings.Stable() {
		s.attempt = 0
	}
	if !s.restartAfter(er, err, now) {
		return 0, false
	}
	s.recent.dropUntil(now.Add(-s.Settings.Window))
	if n := s.recent.len(); n >= s.Settings.MaxRestarts {
		if err == nil { // policy Always: clean ends count too
			err = fmt.Errorf("ended %d times within %v", n+1, s.Settings.Window)
		}
		s.giveUp(err, n)
		return 0, false
	}
	s.recent.add(now)
	delay := s.Settings.Restart.Backoff(s.attempt, s.Rand)
	s.attempt++
	if !s.enterAt(lifecycle.StateBackoff, now) {
		return 0, false
	}
	s.Observe(&lifecycle.Restarting{Service: s.Name, Mode: s.Mode, Attempt: s.attempt, Delay: delay, Cause: err})
	return delay, true
}

// inPlace supervises a run on its own loop once the loop has reported it
// started, for IMMEDIATE restarts, which wait for nothing: the loop runs
// RunAsync again in the same turn, instead of waking the supervise
// goroutine, which would wake the loop's locked thread in turn.
type inPlace struct {
	s *Service
	r *run
}

func (p inPlace) Entered(er executor.Run, err error) {
	s, r := p.s, p.r
	restart := r.phase.Load() == onLoop
	if !restart {
		if err != nil || !r.phase.CompareAndSwap(pending, onLoop) {
			return // the first start's failure, or one confirm gave up on: confirm reports it
		}
	}
	now := s.Clock.Now()
	if err != nil {
		err = fmt.Errorf("service %q (%v): start: %w", s.Name, s.Mode, err)
	} else {
		s.running(now)
	}
	s.started(er, now.Sub(r.since()), err)
}

func (p inPlace) Again(er executor.Run, err error) bool {
	s, r := p.s, p.r
	if r.phase.Load() != onLoop { // still starting: a failure now is the start's
		return false
	}
	now := s.Clock.Now()
	if _, ok := s.decide(r, er, err, now); !ok {
		r.decided = true
		return false
	}
	// IMMEDIATE has no delay to wait out: sleep(0) only looks for a stop.
	if !s.sleep(0) || !s.enterAt(lifecycle.StateStarting, now) {
		s.settle()
		r.decided = true
		return false
	}
	s.mu.Lock()
	s.restarts++
	s.mu.Unlock()
	r.restarted = now
	s.starting()
	return true
}

// enter moves to st unless a stop has begun; it reports whether it did.
func (s *Service) enter(st lifecycle.State) bool { return s.enterAt(st, s.Clock.Now()) }

func (s *Service) enterAt(st lifecycle.State, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == lifecycle.StateStopping {
		return false
	}
	s.setStateAt(st, now)
	return true
}

// settle marks supervision that ended on the app's halt as stopped, so a
// status does not show a restart that will never come; the app's Stop of
// the service will report it.
func (s *Service) settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == lifecycle.StateBackoff || s.state == lifecycle.StateStarting {
		s.setState(lifecycle.StateStopped)
		s.haltEnded = true
	}
}

// restartAfter reports the end of a run that nobody asked for and says
// whether to restart it.
func (s *Service) restartAfter(r executor.Run, err error, now time.Time) bool {
	halted := chans.Closed(s.halt()) // before s.mu: the host's lock is taken first elsewhere
	s.mu.Lock()
	if s.state == lifecycle.StateStopping {
		// It ended on its own just as Stop asked: that end is the stop's.
		s.stopErr = err
		s.mu.Unlock()
		return false
	}
	if err != nil && !errors.Is(err, lifecycle.ErrNoRestart) {
		s.lastErr, s.lastAt = err, now
	}
	restart := s.Settings.Policy.ShouldRestart(err) && !halted
	failed := err != nil && !errors.Is(err, lifecycle.ErrNoRestart)
	if halted {
		// The app is stopping, and will stop this service in its turn: the
		// end is that stop's, which reports it; a service that fails alone
		// fails nobody's stop.
		s.haltEnded = true
		if !failed || !s.Settings.FailAlone {
			s.stopErr = err
		}
	}
	switch {
	case restart:
	case failed:
		s.setStateAt(lifecycle.StateFailed, now)
	default:
		s.setStateAt(lifecycle.StateExited, now)
	}
	s.mu.Unlock()

	if failed {
		stack := stackOf(err)
		s.Observe(&lifecycle.Crashed{Service: s.Name, Mode: s.Mode, PID: executor.PID(r), TID: r.TID(), Err: err, Stack: stack})
	} else {
		s.Observe(&lifecycle.Exited{Service: s.Name, Mode: s.Mode, PID: executor.PID(r), TID: r.TID(), Err: err})
	}
	switch {
	case restart, halted:
	case failed:
		s.giveUp(err, 0)
	case s.OnExit != nil:
		s.OnExit(s, err)
	}
	return restart
}

// stackOf finds the stack a failure carries: a panic's, or a crashed
// child's goroutine dump. It walks the chain itself, since errors.As
// reflects on its target and a crash loop calls this on every restart.
func stackOf(err error) []byte {
	switch e := err.(type) { //nolint:errorlint // this walks the chain, as errors.As would, without reflection
	case nil:
		return nil
	case *modes.PanicError:
		return e.Stack
	case interface{ Trace() []byte }:
		return e.Trace()
	case interface{ Unwrap() error }:
		return stackOf(e.Unwrap())
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if stack := stackOf(inner); stack != nil {
				return stack
			}
		}
	}
	return nil
}

// giveUp marks the service failed for good and escalates.
func (s *Service) giveUp(err error, restarts int) {
	s.mu.Lock()
	if s.state == lifecycle.StateStopping {
		s.mu.Unlock()
		return
	}
	s.setState(lifecycle.StateFailed)
	s.mu.Unlock()
	s.Observe(&lifecycle.GaveUp{Service: s.Name, Mode: s.Mode, Restarts: restarts, Window: s.Settings.Window, Cause: err})
	if s.OnGiveUp != nil {
		s.OnGiveUp(s, err)
	}
}

// sleep waits out a backoff delay; it reports false when a stop or the
// app's halt cut it short.
func (s *Service) sleep(d time.Duration) bool {
	if d <= 0 {
		return !chans.Closed(s.stop) && !chans.Closed(s.halt())
	}
	t := s.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return true
	case <-s.stop:
		return false
	case <-s.halt():
		return false
	}
}

// window holds times in order, oldest first, and lets the oldest go in
// amortized constant time, however many it holds. It keeps them as
// nanoseconds, so a crash loop's thousands of entries give the garbage
// collector nothing to scan.
type window struct {
	times []int64
	head  int // times[:head] have been let go
}

func (w *window) len() int        { return len(w.times) - w.head }
func (w *window) add(t time.Time) { w.times = append(w.times, t.UnixNano()) }
func (w *window) reset()          { w.times, w.head = w.times[:0], 0 }

// dropUntil lets go of the times at or before cutoff.
func (w *window) dropUntil(cutoff time.Time) {
	c := cutoff.UnixNano()
	for w.head < len(w.times) && w.times[w.head] <= c {
		w.head++
	}
	if w.head > len(w.times)/2 { // compact once most of it is gone
		w.times = append(w.times[:0], w.times[w.head:]...)
		w.head = 0
	}
}

func (s *Service) halt() <-chan struct{} {
	if s.Halt == nil {
		return nil
	}
	return s.Halt()
}

// Stop ends supervision: it stops the running run, or cancels a pending
// restart, and waits up to the stop timeout. A run that ignores its stop
// is detached: its goroutine is left behind and Stop returns a
// *lifecycle.TimeoutError. A service whose supervision ended on the app's
// halt reports that end as its stop's. Stopping a service that is not
// running or restarting, and did not end on the halt, does nothing.
func (s *Service) Stop(ctx context.Context) error {
	if p := s.beginStop(); p != nil {
		return p.wait(ctx)
	}
	return nil
}

// stopping is a Stop under way.
type stopping struct {
	s        *Service
	run      executor.Run // the current or last run; nil if none
	finished chan struct{}
	grace    time.Duration
	begin    time.Time
}

// beginStop asks the service to stop and returns without waiting; nil
// means it was not running or restarting, and did not end on the app's
// halt.
func (s *Service) beginStop() *stopping {
	s.mu.Lock()
	active := s.state == lifecycle.StateRunning || s.state == lifecycle.StateBackoff || s.state == lifecycle.StateStarting
	if !active && !s.haltEnded {
		s.mu.Unlock()
		return nil
	}
	s.haltEnded = false
	p := &stopping{s: s, finished: s.finished}
	s.setState(lifecycle.StateStopping)
	close(s.stop)
	if s.cur != nil {
		p.run, p.grace = s.cur.Run, executor.Grace(s.cur.Run)
	}
	s.mu.Unlock()
	if p.run != nil {
		// Stopped here, in the caller's order; supervision asks again,
		// which does nothing more.
		p.run.Stop()
	}
	s.Observe(&lifecycle.Stopping{Service: s.Name, Mode: s.Mode})
	p.begin = s.Clock.Now()
	return p
}

// wait waits for the stop to finish, up to the stop timeout.
func (p *stopping) wait(ctx context.Context) error {
	s := p.s
	timeout := s.Clock.NewTimer(s.Settings.StopTimeout + p.grace)
	defer timeout.Stop()
	var err error
	detached := false
	select {
	case <-p.finished:
		s.mu.Lock()
		err = s.stopErr
		s.mu.Unlock()
		if errors.Is(err, context.Canceled) || errors.Is(err, lifecycle.ErrNoRestart) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("service %q (%v): stop: %w", s.Name, s.Mode, err)
		}
		detached = errors.Is(err, errDetached)
	case <-timeout.Chan():
		err, detached = &lifecycle.TimeoutError{Service: s.Name, Phase: "stop", Timeout: s.Settings.StopTimeout}, true
	case <-ctx.Done():
		err, detached = fmt.Errorf("service %q: stop: %w", s.Name, ctx.Err()), true
	}
	s.mu.Lock()
	s.setState(lifecycle.StateStopped)
	s.mu.Unlock()
	s.Observe(&lifecycle.Stopped{Service: s.Name, Mode: s.Mode, Duration: s.Clock.Since(p.begin), Err: err, Detached: detached})
	return err
}

func (s *Service) stalled(st loop.Stall) { s.Observe(StallEvent(st)) }

// StallEvent is the lifecycle event of a loop's stall report.
func StallEvent(st loop.Stall) *lifecycle.Stalled {
	return &lifecycle.Stalled{Service: st.Service, Loop: st.Loop, Func: st.Func, Running: st.Running}
}
