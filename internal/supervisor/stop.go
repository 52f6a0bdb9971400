package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/lifecycle"
)

// Stop ends supervision: it stops the running run, or cancels a pending
// restart, and waits up to the stop timeout, for a replacement under way
// too: the run it started or the one it retires. A run that ignores its stop
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
	// replacing is the replacement under way, if any: the stop ends once
	// it has.
	replacing chan struct{}
	grace     time.Duration
	begin     time.Time
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
	p := &stopping{s: s, finished: s.finished, replacing: s.replacing}
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
	for _, done := range []<-chan struct{}{p.finished, p.replacing} {
		if done == nil || err != nil {
			continue
		}
		select {
		case <-done:
		case <-timeout.Chan():
			err, detached = stuck(p.run, &lifecycle.TimeoutError{Service: s.Name, Phase: "stop", Timeout: s.Settings.StopTimeout}), true
		case <-ctx.Done():
			err, detached = stuck(p.run, fmt.Errorf("service %q: stop: %w", s.Name, ctx.Err())), true
		}
	}
	if err == nil {
		s.mu.Lock()
		err = s.stopErr
		s.mu.Unlock()
		if errors.Is(err, context.Canceled) || errors.Is(err, lifecycle.ErrNoRestart) || cleanEnd(err) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("service %q (%v): stop: %w", s.Name, s.Mode, err)
		}
		detached = errors.Is(err, errDetached)
	}
	s.mu.Lock()
	s.setState(lifecycle.StateStopped)
	s.mu.Unlock()
	var stack []byte
	if detached {
		stack = stackOf(err)
	}
	s.Observe(&lifecycle.Stopped{Service: s.Name, Mode: s.Mode, Duration: s.Clock.Since(p.begin), Err: err, Detached: detached, Stack: stack})
	return err
}

func (s *Service) stalled(st loop.Stall) { s.Observe(StallEvent(st)) }

// StallEvent is the lifecycle event of a loop's stall report.
func StallEvent(st loop.Stall) *lifecycle.Stalled {
	return &lifecycle.Stalled{Service: st.Service, Loop: st.Loop, Func: st.Func, Running: st.Running}
}
