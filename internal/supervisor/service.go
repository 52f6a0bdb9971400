// Package supervisor drives one service through its life: it launches runs
// through an executor, applies the start and stop timeouts, restarts failed
// runs by the service's strategy, policy and intensity, and reports every
// step as a lifecycle event. It is the only caller of the executors, so
// every execution mode is supervised alike.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

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
	stopErr  error         // how the last run ended under Stop
	restarts int
	lastErr  error
	lastAt   time.Time
}

// run is one launch of the entry point.
type run struct {
	executor.Run
	began time.Time
	ended chan struct{} // closed once Wait returned; err is then set
	err   error
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

// State returns the service's current state.
func (s *Service) State() lifecycle.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// setState moves to st; s.mu must be held.
func (s *Service) setState(st lifecycle.State) {
	s.state, s.since = st, s.Clock.Now()
}

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
	go s.supervise(r)
	return nil
}

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
	s.stopErr = nil
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
	if isClosed(s.halt()) {
		return nil, fmt.Errorf("service %q: %w", s.Name, ErrAborted)
	}
	s.starting()
	r := s.track(s.Executor.Launch(s.spec(nil)))
	return r, s.confirm(ctx, r)
}

func (s *Service) starting() {
	s.Observe(&lifecycle.Starting{Service: s.Name, Mode: s.Mode, Settings: s.Settings, Sources: s.Sources})
}

func (s *Service) spec(gate *executor.Gate) executor.Spec {
	return executor.Spec{
		Name:         s.Name,
		Service:      s.Instance,
		WaitForReady: s.Settings.WaitForReady,
		OnStall:      s.stalled,
		StopTimeout:  s.Settings.StopTimeout,
		Gate:         gate,
	}
}

// track makes a freshly launched run the current one and watches it end.
func (s *Service) track(launched executor.Run) *run {
	r := &run{Run: launched, began: s.Clock.Now(), ended: make(chan struct{})}
	go func() {
		r.err = r.Wait()
		close(r.ended)
	}()
	s.mu.Lock()
	s.cur = r
	s.mu.Unlock()
	return r
}

// confirm waits until r has started, or says why it did not.
func (s *Service) confirm(ctx context.Context, r *run) error {
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
	// ready and then ended at once did start, and then ended.
	if isClosed(r.Ready()) {
		err = nil
	} else {
		err = s.abandon(r, err)
	}
	if err == nil {
		s.mu.Lock()
		if s.state == lifecycle.StateStarting {
			s.setState(lifecycle.StateRunning)
		}
		s.mu.Unlock()
	}
	s.Observe(&lifecycle.Started{Service: s.Name, Mode: s.Mode, PID: executor.PID(r.Run), TID: r.TID(),
		Duration: s.Clock.Since(r.began), Err: err})
	return err
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
	attempt := 0           // restarts since the service last ran stably
	var recent []time.Time // restarts within the intensity window
	for {
		select {
		case <-r.ended:
		case <-s.stop:
			r.Stop()
			<-r.ended // Stop's timeout detaches a run that never ends
			s.mu.Lock()
			s.stopErr = r.err
			s.mu.Unlock()
			return
		}
		err := r.err
		now := s.Clock.Now()
		if now.Sub(r.began) >= s.Settings.Stable() {
			attempt = 0
		}
		if !s.restartAfter(r, err) {
			return
		}
		recent = pruneBefore(recent, now.Add(-s.Settings.Window))
		if len(recent) >= s.Settings.MaxRestarts {
			if err == nil { // policy Always: clean ends count too
				err = fmt.Errorf("ended %d times within %v", len(recent)+1, s.Settings.Window)
			}
			s.giveUp(err, len(recent))
			return
		}
		recent = append(recent, now)
		delay := s.Settings.Restart.Backoff(attempt, s.Rand)
		attempt++

		if !s.enter(lifecycle.StateBackoff) {
			return
		}
		s.Observe(&lifecycle.Restarting{Service: s.Name, Mode: s.Mode, Attempt: attempt, Delay: delay, Cause: err})
		if !s.sleep(delay) || !s.enter(lifecycle.StateStarting) {
			s.settle()
			return
		}
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
		next, err := s.launch(context.Background())
		switch {
		case errors.Is(err, errStopped), errors.Is(err, ErrAborted):
			s.settle()
			return
		case errors.Is(err, errDetached):
			// The old run may still be running: another would be a second
			// copy of the service at once.
			s.giveUp(err, len(recent))
			return
		case err != nil:
			// A restart that fails to start is one more failure.
			next = &run{Run: next.Run, began: s.Clock.Now(), ended: closed, err: err}
		}
		r = next
	}
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// enter moves to st unless a stop has begun; it reports whether it did.
func (s *Service) enter(st lifecycle.State) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == lifecycle.StateStopping {
		return false
	}
	s.setState(st)
	return true
}

// settle marks supervision that ended on the app's halt as stopped, so a
// status does not show a restart that will never come.
func (s *Service) settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == lifecycle.StateBackoff || s.state == lifecycle.StateStarting {
		s.setState(lifecycle.StateStopped)
	}
}

// restartAfter reports the end of a run that nobody asked for and says
// whether to restart it.
func (s *Service) restartAfter(r *run, err error) bool {
	halted := isClosed(s.halt()) // before s.mu: the host's lock is taken first elsewhere
	s.mu.Lock()
	if s.state == lifecycle.StateStopping {
		// It ended on its own just as Stop asked: that end is the stop's.
		s.stopErr = err
		s.mu.Unlock()
		return false
	}
	if err != nil && !errors.Is(err, lifecycle.ErrNoRestart) {
		s.lastErr, s.lastAt = err, s.Clock.Now()
	}
	restart := s.Settings.Policy.ShouldRestart(err) && !halted
	failed := err != nil && !errors.Is(err, lifecycle.ErrNoRestart)
	switch {
	case restart:
	case failed:
		s.setState(lifecycle.StateFailed)
	default:
		s.setState(lifecycle.StateExited)
	}
	s.mu.Unlock()

	if failed {
		var stack []byte
		var pe *modes.PanicError
		var tracer interface{ Trace() []byte }
		switch {
		case errors.As(err, &pe):
			stack = pe.Stack
		case errors.As(err, &tracer):
			stack = tracer.Trace()
		}
		s.Observe(&lifecycle.Crashed{Service: s.Name, Mode: s.Mode, PID: executor.PID(r.Run), TID: r.TID(), Err: err, Stack: stack})
	} else {
		s.Observe(&lifecycle.Exited{Service: s.Name, Mode: s.Mode, PID: executor.PID(r.Run), TID: r.TID(), Err: err})
	}
	switch {
	case restart:
	case failed && !halted:
		s.giveUp(err, 0)
	case !failed && s.OnExit != nil:
		s.OnExit(s, err)
	}
	return restart
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
		return !isClosed(s.stop) && !isClosed(s.halt())
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

func pruneBefore(times []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(cutoff) {
		i++
	}
	return append(times[:0], times[i:]...)
}

func (s *Service) halt() <-chan struct{} {
	if s.Halt == nil {
		return nil
	}
	return s.Halt()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Stop ends supervision: it stops the running run, or cancels a pending
// restart, and waits up to the stop timeout. A run that ignores its stop
// is detached: its goroutine is left behind and Stop returns a
// *lifecycle.TimeoutError. Stopping a service that is not running or
// restarting does nothing.
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
// means it was not running or restarting.
func (s *Service) beginStop() *stopping {
	s.mu.Lock()
	switch s.state {
	case lifecycle.StateRunning, lifecycle.StateBackoff, lifecycle.StateStarting:
	default:
		s.mu.Unlock()
		return nil
	}
	s.setState(lifecycle.StateStopping)
	close(s.stop)
	p := &stopping{s: s, finished: s.finished}
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

// settled reports whether nothing of the service can run any more, even
// though its stop is not confirmed yet.
func (p *stopping) settled() bool { return p.run == nil || executor.Settled(p.run) }

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

func (s *Service) stalled(st modes.Stall) { s.Observe(StallEvent(st)) }

// StallEvent is the lifecycle event of a loop's stall report.
func StallEvent(st modes.Stall) *lifecycle.Stalled {
	return &lifecycle.Stalled{Service: st.Service, Loop: st.Loop, Func: st.Func, Running: st.Running}
}
