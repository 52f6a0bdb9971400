package executor

import (
	"context"
	"runtime"

	"github.com/hostfx/hostfx/modes"
)

// MainLoop runs async services on one shared event loop
// (modes.MainEventLoopAsync). Whoever owns the loop runs it.
type MainLoop struct {
	// Loop returns the shared loop of the moment.
	Loop func() *modes.EventLoop
}

// Launch schedules RunAsync on the shared loop and returns at once.
func (m MainLoop) Launch(spec Spec) Run {
	r := &loopRun{run: newRun(spec), loop: m.Loop().Scope(spec.Name)}
	r.startAsync(spec, r.loop)
	return r
}

// LaunchAll prepares every run first and then queues their RunAsync calls
// back to back, so the loop wakes once and runs them all in one turn.
func (m MainLoop) LaunchAll(specs []Spec) []Run {
	loop := m.Loop()
	runs := make([]*loopRun, len(specs))
	for i, spec := range specs {
		runs[i] = &loopRun{run: newRun(spec), loop: loop.Scope(spec.Name)}
	}
	out := make([]Run, len(specs))
	for i, r := range runs {
		r.startAsync(specs[i], r.loop)
		out[i] = r
	}
	return out
}

// ThreadLoop runs each async service on a private event loop on its own
// locked OS thread (modes.SeparateThreadAsync).
type ThreadLoop struct{}

// Launch starts the thread and its loop and returns at once.
func (ThreadLoop) Launch(spec Spec) Run {
	loop := modes.NewEventLoop(modes.LoopConfig{Name: spec.Name, OnStall: spec.OnStall})
	r := &loopRun{run: newRun(spec), loop: loop.Scope(spec.Name), private: loop}
	r.startAsync(spec, r.loop)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is discarded with the loop
		loop.Run()
	}()
	return r
}

type loopRun struct {
	*run
	loop    *modes.Loop
	private *modes.EventLoop // nil on the shared main loop
}

func (r *loopRun) Wait() error {
	<-r.loop.Done()
	r.cancel()
	if r.private != nil {
		r.private.Stop()
		<-r.private.Done()
	}
	// Work started with Loop.Go saw its context cancelled; wait for it so
	// no goroutine of the service outlives its run.
	_ = r.loop.Wait(context.Background())
	return r.loop.Err()
}

func (r *loopRun) Stop() {
	r.cancel()
	r.loop.Exit(nil)
}

// Settled reports whether no Go work of the run is running: Wait answers
// at once for a context that has already ended.
func (r *loopRun) Settled() bool { return r.loop.Wait(ended) == nil }

var ended = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()
