package executor

import (
	"runtime"

	"github.com/hostfx/hostfx/modes"
)

// Thread runs the blocking entry point on a goroutine locked to a fresh OS
// thread for the run's whole life (modes.SeparateThread).
type Thread struct{}

// Launch starts the run and returns at once.
func (Thread) Launch(spec Spec) Run {
	r := &threadRun{run: newRun(spec), done: make(chan struct{})}
	go func() {
		// Never unlocked: when this goroutine ends, Go discards the thread,
		// so nothing the service did to it (priority, affinity, namespaces)
		// leaks into other goroutines.
		runtime.LockOSThread()
		defer close(r.done)
		r.enter(spec)
		r.err = callRun(r.ctx, spec.Service.(modes.Runner))
	}()
	return r
}

type threadRun struct {
	*run
	done chan struct{}
	err  error
}

func (r *threadRun) Wait() error { <-r.done; return r.err }
func (r *threadRun) Stop()       { r.cancel() }
