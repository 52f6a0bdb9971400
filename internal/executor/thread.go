package executor

import (
	"runtime"

	"github.com/hostfx/hostfx/modes"
)

// Thread runs the blocking entry point on a goroutine locked to a fresh OS
// thread for the run's whole life (modes.SeparateThread), or on a thread
// Reserved hands it.
type Thread struct {
	// Reserved, when set, may hand the run to a thread that is already
	// locked and has nothing else to do, such as a child process's main
	// thread; it reports false when there is none, and a fresh thread is
	// made as usual.
	Reserved func(run func()) bool
}

// Launch starts the run and returns at once.
func (t Thread) Launch(spec Spec) Run {
	r := &threadRun{run: newRun(spec.WaitForReady, spec.Alive), done: make(chan struct{})}
	body := func() {
		defer close(r.done)
		r.enter(spec)
		r.err = callRun(r.ctx, spec.Service.(modes.Runner))
	}
	if t.Reserved != nil && t.Reserved(body) {
		return r
	}
	go func() {
		// Never unlocked: when this goroutine ends, Go discards the thread,
		// so nothing the service did to it (priority, affinity, namespaces)
		// leaks into other goroutines.
		runtime.LockOSThread()
		body()
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
