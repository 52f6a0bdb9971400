package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
)

// StartAll starts services in order, as Start called on each in turn
// would, and returns the first error. When their executor can launch a
// batch, every run is launched at once and then confirmed in order, so a
// shared loop wakes once for all of them instead of once each; a gate keeps
// the services after one that fails from ever calling their entry points.
// If one fails, those before it are stopped in reverse order and those
// after it never start.
func StartAll(ctx context.Context, services []*Service) error {
	if len(services) == 0 {
		return nil
	}
	b, ok := services[0].Executor.(executor.Batcher)
	if !ok || len(services) == 1 {
		for i, s := range services {
			if err := s.Start(ctx); err != nil {
				return errors.Join(err, StopAll(context.Background(), services[:i], nil))
			}
		}
		return nil
	}
	for i, s := range services {
		if err := s.prepare(); err != nil {
			for _, p := range services[:i] {
				p.stopped()
			}
			return err
		}
	}
	if first := services[0]; chans.Closed(first.halt()) {
		for _, s := range services {
			s.stopped()
		}
		return fmt.Errorf("service %q: %w", first.Name, ErrAborted)
	}

	gate := new(executor.Gate)
	specs := make([]executor.Spec, len(services))
	runs := make([]*run, len(services))
	for i, s := range services {
		runs[i] = s.newRun()
		specs[i] = s.spec(gate, runs[i])
		specs[i].Enter = s.starting
	}
	launched := b.LaunchAll(specs)
	for i, s := range services {
		s.track(runs[i], launched[i])
	}
	failed := len(services)
	var failure error
	for i, s := range services {
		if err := s.confirm(ctx, runs[i], gate); err != nil {
			failed, failure = i, err
			s.stopped()
			break
		}
		s.supervised(runs[i])
	}
	if failed == len(services) {
		return nil
	}
	// The gate holds back the ones after it. One that reached its entry
	// point before the gate closed, and that its loop has reported started,
	// did start: it stops with those before the failure.
	started := append([]*Service(nil), services[:failed]...)
	var held []*Service
	var heldRuns []*run
	for j := failed + 1; j < len(services); j++ {
		r := runs[j]
		if r.phase.CompareAndSwap(pending, abandoned) {
			held, heldRuns = append(held, services[j]), append(heldRuns, r)
			continue
		}
		services[j].supervised(r)
		started = append(started, services[j])
	}
	holdBack(held, heldRuns)
	return errors.Join(failure, StopAll(context.Background(), started, nil))
}

// holdBack ends the runs launched in a batch after a service that failed
// to start. The gate keeps them from calling their entry points; one that
// got there first is reported as a start cut short. They share one stop
// timeout, so a stuck loop costs it once, not once per service.
func holdBack(services []*Service, runs []*run) {
	if len(services) == 0 {
		return
	}
	for _, r := range runs {
		executor.Abort(r.Run, "a service before it failed to start")
	}
	first := services[0]
	timeout := first.Clock.NewTimer(first.Settings.StopTimeout)
	defer timeout.Stop()
	expired := false
	for i, s := range services {
		r := runs[i]
		if !expired {
			select {
			case <-r.ended:
			case <-timeout.Chan():
				expired = true
			}
		}
		if r.TID() != 0 { // it reached its entry point
			err := fmt.Errorf("service %q (%v): start: %w", s.Name, s.Mode, ErrAborted)
			if !chans.Closed(r.ended) {
				err = fmt.Errorf("%w; then it ignored its stop for %v and %w", err, first.Settings.StopTimeout, errDetached)
			}
			s.started(r.Run, s.Clock.Since(r.began), err)
		}
		s.stopped()
	}
}

// StopAll stops services in the reverse of their order, as Stop called on
// each in turn would, and joins the errors. begun, if not nil, is called
// once every stop has begun, before StopAll waits for the last of them. A service's stop is begun
// before the previous one is confirmed only when nothing of the previous
// one can still run (its run has settled: on a loop, its callbacks are
// cancelled and it has no Go work left), so services sharing a loop stop in
// one turn of it, while the order still holds.
func StopAll(ctx context.Context, services []*Service, begun func()) error {
	var errs []error
	var pending []*stopping
	finish := func() {
		for _, p := range pending {
			errs = append(errs, p.wait(ctx))
		}
		pending = pending[:0]
	}
	for i := len(services) - 1; i >= 0; i-- {
		p := services[i].beginStop()
		if p == nil {
			continue
		}
		pending = append(pending, p)
		if !p.settled() {
			finish()
		}
	}
	if begun != nil {
		begun()
	}
	finish()
	return errors.Join(errs...)
}
