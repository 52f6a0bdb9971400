package supervisor

import (
	"fmt"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

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
