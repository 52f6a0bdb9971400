package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/restart"
	"github.com/hostfx/hostfx/lifecycle"
)

// supervise watches runs end and restarts them until Stop, or until the
// service exits or gives up.
func (s *Service) supervise(r *run) {
	defer close(s.finished)
	for {
		took, ended, err := s.await(r)
		if took != nil { // a replacement's run: it sees to r
			r = took
			continue
		}
		if !ended {
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
		if errors.Is(err, errDetached) {
			// A hung run that ignored its stop may still be running:
			// another would be a second copy of the service at once.
			if s.restartAfter(r.Run, err, s.Clock.Now()) {
				s.giveUp(err, s.recent.len())
			}
			return
		}
		delay, ok := s.decide(r, r.Run, err, s.Clock.Now())
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
	delay := restart.Delay(s.Settings.Restart, s.attempt, s.Rand)
	s.attempt++
	if !s.enterAt(lifecycle.StateBackoff, now) {
		return 0, false
	}
	s.Observe(&lifecycle.Restarting{Service: s.Name, Mode: s.Mode, Attempt: s.attempt, Delay: delay, Cause: err})
	return delay, true
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
	policyErr := err // what the policy judges: nil for a clean end, even an explained one
	if cleanEnd(err) {
		policyErr = nil
	}
	failed := policyErr != nil && !errors.Is(policyErr, lifecycle.ErrNoRestart)
	if failed {
		s.lastErr, s.lastAt = err, now
	}
	again := restart.Wanted(s.Settings.Policy, policyErr) && !halted
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
	case again:
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
	case again, halted:
	case failed:
		s.giveUp(err, 0)
	case s.OnExit != nil:
		s.OnExit(s, err)
	}
	return again
}

// cleanEnd reports whether err explains a clean end: the end counts as a
// nil error, and the Exited event carries err.
func cleanEnd(err error) bool {
	for err != nil { // as errors.As would, without reflection: a crash loop calls this on every restart
		if _, ok := err.(*executor.CleanEnd); ok { //nolint:errorlint // this walks the chain
			return true
		}
		u, ok := err.(interface{ Unwrap() error }) //nolint:errorlint // this walks the chain
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
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
