package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

// A replacement runs a second run of a service beside the current one and,
// once it has started, swaps it in: the supervise goroutine takes it over
// as the run it watches (handoff), uses go to it from then on (Use), and
// the old run is stopped once the uses it had have ended, or half the stop
// budget has passed (retire). The service stays running throughout; only
// an executor that gives each run an instance of its own, a child process,
// can run two at once, and the caller makes sure of that.

// handoff is a replacement's run on its way to the supervise goroutine,
// which sends back the run it stops watching.
type handoff struct {
	next *run
	old  chan *run
}

// takeOver makes h's run the current one in place of r, the run the
// supervise goroutine watched, and hands r to the replacement.
func (s *Service) takeOver(r *run, h handoff) *run {
	s.mu.Lock()
	s.cur = h.next
	s.mu.Unlock()
	h.old <- r
	return h.next
}

// Lease is one use of a service's run, such as a call or a connection to
// it. A replacement stops the run it retires once the leases taken on it
// have ended, or half the stop budget has passed.
type Lease struct{ r *run }

// Use returns a lease on the current run; its Run is nil before the first
// launch. End it when the use is over.
func (s *Service) Use() Lease {
	s.mu.Lock()
	r := s.cur
	if r != nil {
		r.uses.Add(1)
	}
	s.mu.Unlock()
	return Lease{r}
}

// Run is the run the lease is on, or nil.
func (l Lease) Run() executor.Run {
	if l.r == nil {
		return nil
	}
	return l.r.Run
}

// End ends the lease; call it once.
func (l Lease) End() {
	if l.r != nil && l.r.uses.Add(-1) == 0 && l.r.retiring.Load() {
		select {
		case l.r.idle <- struct{}{}:
		default: // signalled already
		}
	}
}

// Replace starts a new run of the service beside the current one and,
// once it has started, makes it the current run: Use returns it from then
// on, and the supervisor watches it. The old run is then stopped, once the
// leases taken on it have ended or half the stop budget has passed, and
// Replace returns when it has ended. The service stays running throughout.
// The executor must give each run an instance of its own, as a child
// process has.
//
// A replacement that fails before the switch leaves the old run current
// and returns why: the new run did not start (within the start timeout),
// ctx ended, or the service stopped meanwhile. ctx bounds the replacement
// up to the switch; after it, ctx's end only cuts short the wait for the
// old run's leases, and Replace still waits for the old run's end, so it
// never leaves two runs behind. A replacement of a service that is not
// running is an error naming its state; one while another is under way
// waits for that one to end first, within ctx. Stop waits for a
// replacement under way.
func (s *Service) Replace(ctx context.Context) error {
	done, err := s.beginReplace(ctx)
	if err != nil {
		return err
	}
	defer s.endReplace(done)
	s.mu.Lock()
	cur, stop, finished, turn := s.cur, s.stop, s.finished, s.handoff
	s.mu.Unlock()
	oldPID := executor.PID(cur.Run)
	s.Observe(&lifecycle.Replacing{Service: s.Name, Mode: s.Mode, PID: oldPID})
	begin := s.Clock.Now()
	old, err := s.switchTo(ctx, turn, stop, finished)
	if err != nil {
		err = fmt.Errorf("%w; the replacement did not take over, pid %d serves on", err, oldPID)
		if !errors.Is(err, ErrAborted) && !errors.Is(err, errStopped) && ctx.Err() == nil {
			// A new run that failed is the service's failure; a
			// replacement its caller or a stop cut short is none.
			s.mu.Lock()
			s.lastErr, s.lastAt = err, s.Clock.Now()
			s.mu.Unlock()
		}
		s.Observe(&lifecycle.Replaced{Service: s.Name, Mode: s.Mode, OldPID: oldPID, PID: oldPID, Duration: s.Clock.Since(begin), Err: err})
		return err
	}
	// The run it took over from, should the old one have restarted
	// meanwhile.
	oldPID, newPID := executor.PID(old.Run), executor.PID(s.Current())
	if err = s.retire(ctx, old, stop); err != nil {
		err = fmt.Errorf("service %q (%v): pid %d took over, but pid %d did not stop: %w", s.Name, s.Mode, newPID, oldPID, err)
	}
	s.Observe(&lifecycle.Replaced{Service: s.Name, Mode: s.Mode, OldPID: oldPID, PID: newPID, Duration: s.Clock.Since(begin), Err: err})
	return err
}

// beginReplace waits, within ctx, until no other replacement is under way,
// and marks one under way for a running service; endReplace ends it.
func (s *Service) beginReplace(ctx context.Context) (chan struct{}, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("service %q (%v): replace: %w", s.Name, s.Mode, err)
		}
		s.mu.Lock()
		busy, st := s.replacing, s.state
		if busy == nil && st == lifecycle.StateRunning && s.cur != nil {
			s.replacing = make(chan struct{})
			mine := s.replacing
			s.mu.Unlock()
			return mine, nil
		}
		s.mu.Unlock()
		if busy == nil {
			return nil, fmt.Errorf("service %q (%v): replace while %v: only a running service can be replaced", s.Name, s.Mode, st)
		}
		select {
		case <-busy:
		case <-ctx.Done():
		}
	}
}

func (s *Service) endReplace(done chan struct{}) {
	s.mu.Lock()
	s.replacing = nil
	s.mu.Unlock()
	close(done)
}

// switchTo starts the new run and hands it to the supervise goroutine;
// it returns the run that goroutine watched until then. A new run that
// does not make it that far is stopped before switchTo returns.
func (s *Service) switchTo(ctx context.Context, turn chan handoff, stop, finished <-chan struct{}) (*run, error) {
	next, err := s.launchAs(ctx, false)
	if err != nil {
		return nil, err // confirm has stopped it
	}
	h := handoff{next: next, old: make(chan *run, 1)}
	select {
	case turn <- h:
		return <-h.old, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = errStopped
	case <-finished: // it gave up or exited
		err = fmt.Errorf("the service ended (%v)", s.State())
	}
	return nil, s.abandon(next, err)
}

// retire lets the leases on old end, for half the stop budget at most, or
// until ctx or the service's stop cuts the wait short, then stops old and
// waits for its end, up to its stop timeout.
func (s *Service) retire(ctx context.Context, old *run, stop <-chan struct{}) error {
	old.idle = make(chan struct{}, 1)
	old.retiring.Store(true)
	if old.uses.Load() > 0 {
		drain := s.Clock.NewTimer(s.Settings.StopTimeout / 2)
	wait:
		for old.uses.Load() > 0 {
			select {
			case <-old.idle:
			case <-drain.Chan():
				break wait
			case <-ctx.Done():
				break wait
			case <-stop:
				break wait
			}
		}
		drain.Stop()
	}
	old.Stop()
	timeout := s.Clock.NewTimer(s.Settings.StopTimeout + executor.Grace(old.Run))
	defer timeout.Stop()
	select {
	case <-old.ended:
		if err := old.err; err != nil && !errors.Is(err, context.Canceled) && !cleanEnd(err) {
			return err
		}
		return nil
	case <-timeout.Chan():
		executor.Abort(old.Run, fmt.Sprintf("did not stop within %v of its replacement", s.Settings.StopTimeout))
		return stuck(old.Run, &lifecycle.TimeoutError{Service: s.Name, Phase: "stop", Timeout: s.Settings.StopTimeout})
	}
}
