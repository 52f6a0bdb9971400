package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

// watchdog expects a sign of life from a run at least once a period.
type watchdog struct {
	clock  clockwork.Clock
	period time.Duration
	last   atomic.Int64 // the clock's time of the last sign of life, in Unix nanoseconds
}

// alive notes a sign of life; a service may call it on every turn of its
// work, so it only stores the time.
func (w *watchdog) alive() { w.last.Store(w.clock.Now().UnixNano()) }

// left is how long the run has until it has gone a period without a sign
// of life.
func (w *watchdog) left(now time.Time) time.Duration {
	return time.Unix(0, w.last.Load()).Add(w.period).Sub(now)
}

// watch arms the watchdog of r for its launch, if the service has one and
// watches it here; a child's service forwards its signs of life to the
// parent, which watches them.
func (s *Service) watch(r *run, spec *executor.Spec) {
	period := s.Settings.Watchdog
	if period <= 0 {
		return
	}
	spec.Watchdog, spec.Alive = period, s.ForwardAlive
	if spec.Alive == nil {
		r.wd = &watchdog{clock: s.Clock, period: period}
		spec.Alive = r.wd.alive
	}
}

// await waits for r to end, and reports false if a stop came first. A run
// with a watchdog that goes a period without a sign of life is hung: it is
// ended, and its end is the hang's. A replacement's run handed over
// meanwhile becomes the current one, and await returns it as next: its
// caller watches that one instead, and the replacement sees to r.
func (s *Service) await(r *run) (next *run, ended bool, err error) {
	if r.wd != nil {
		r.wd.alive() // running, it counts from now
		t := s.Clock.NewTimer(r.wd.period)
		defer t.Stop()
		for {
			select {
			case <-r.ended:
				return nil, true, r.err
			case <-s.stop:
				return nil, false, nil
			case h := <-s.handoff:
				return s.takeOver(r, h), false, nil
			case <-t.Chan():
			}
			left := r.wd.left(s.Clock.Now())
			if left <= 0 {
				return nil, true, s.hang(r)
			}
			t.Reset(left)
		}
	}
	select {
	case <-r.ended:
		return nil, true, r.err
	case <-s.stop:
		return nil, false, nil
	case h := <-s.handoff:
		return s.takeOver(r, h), false, nil
	}
}

// hang ends a run that missed its watchdog and returns the run's end: a
// *lifecycle.TimeoutError in the phase "watchdog", with where the run was
// stuck, and how it ended once told to. A run that ignores that for its
// stop timeout is detached.
func (s *Service) hang(r *run) error {
	period := r.wd.period
	te := &lifecycle.TimeoutError{Service: s.Name, Phase: "watchdog", Timeout: period}
	s.mu.Lock()
	s.lastErr, s.lastAt = te, s.Clock.Now() // Status says so at once, while the run ends
	s.mu.Unlock()
	stack := executor.Hung(r.Run, fmt.Sprintf("hung: no sign of life for %v (watchdog)", period))
	timeout := s.Clock.NewTimer(s.Settings.StopTimeout + executor.Grace(r.Run))
	defer timeout.Stop()
	var err error = te
	select {
	case <-r.ended:
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			err = fmt.Errorf("%w; it ended: %w", te, r.err)
		}
	case <-timeout.Chan():
		err = fmt.Errorf("%w; it ignored its stop for %v and %w", te, s.Settings.StopTimeout, errDetached)
	}
	if stack != nil {
		err = &dumped{error: err, stack: stack}
	}
	return err
}
