package executor

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Spec describes one run of a service.
type Spec struct {
	Name string
	// Service is the constructed value: a modes.Runner for blocking modes,
	// a modes.AsyncRunner for event-loop modes.
	Service any
	// WaitForReady delays Ready until the service calls lifecycle.Ready.
	WaitForReady bool
	// OnStall receives stall reports of a private loop.
	OnStall func(loop.Stall)
	// StopTimeout is how long the entry point may take to stop; a run that
	// can force an end (a child process) escalates after it.
	StopTimeout time.Duration
	// Restarter, when set, follows the run on its loop, and restarts it
	// there, if the executor runs it on a loop and can restart it in
	// place; other executors ignore it.
	Restarter Restarter
}

// Restarter follows a run on the loop its entry point runs on; its methods
// are called on that loop.
type Restarter interface {
	// Entered is called each time the entry point returned: nil means the
	// service runs; an error ends the run, or is followed by Again.
	Entered(run Run, err error)
	// Again is called when the entry point ended by itself with err and
	// nothing it started still runs; true starts it again at once, in the
	// same run, and false ends the run with err.
	Again(run Run, err error) bool
}

// Abort ends a run that failed to start: it kills what can be killed (a
// child process) and asks the rest to stop.
func Abort(run Run, why string) {
	if k, ok := run.(interface{ Kill(why string) }); ok {
		k.Kill(why)
		return
	}
	run.Stop()
}

// PID is the process run is in: its own child process, or this one.
func PID(run Run) int {
	if p, ok := run.(interface{ PID() int }); ok {
		return p.PID()
	}
	return pid
}

// pid is this process's: Go never forks, so it never changes.
var pid = os.Getpid()

// Grace is how much longer than its stop timeout run may take to end:
// a run that escalates a stop says so with a Grace method.
func Grace(run Run) time.Duration {
	if g, ok := run.(interface{ Grace() time.Duration }); ok {
		return g.Grace()
	}
	return 0
}

// Run is one execution of a service's entry point.
type Run interface {
	// Ready is closed once the run counts as started.
	Ready() <-chan struct{}
	// Wait blocks until the entry point, and any work it started through its
	// loop, has ended, and returns how it ended. One goroutine calls it.
	Wait() error
	// Stop asks the entry point to end. It does not wait.
	Stop()
	// TID is the OS thread the run is on, or 0 until known.
	TID() int
}

// Executor launches runs of services in one execution mode.
type Executor interface {
	Launch(Spec) Run
}

// run holds what every mode's run has in common.
type run struct {
	ctx       context.Context
	cancel    context.CancelFunc
	ready     chan struct{}
	readyOnce sync.Once
	tid       atomic.Int64
}

func newRun() *run {
	r := &run{ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.ctx = lifecycle.WithReady(ctx, r.markReady)
	r.cancel = cancel
	return r
}

func (r *run) Ready() <-chan struct{} { return r.ready }
func (r *run) TID() int               { return int(r.tid.Load()) }
func (r *run) markReady()             { r.readyOnce.Do(func() { close(r.ready) }) }
func (r *run) enter(spec Spec) {
	r.tid.Store(int64(unix.Gettid()))
	if !spec.WaitForReady {
		r.markReady()
	}
}

// startAsync schedules RunAsync as the first callback of loop, on the
// loop; self is the Run that r belongs to.
func (r *run) startAsync(spec *Spec, loop *loop.View, self Run) {
	svc := spec.Service.(modes.AsyncRunner)
	loop.PostAwaited(func() { // the supervisor looks for the start (see supervisor.starts)
		if r.tid.Load() == 0 { // a restart in place is on the same locked thread
			r.tid.Store(int64(unix.Gettid()))
		}
		err := callRunAsync(r.ctx, svc, loop)
		if spec.Restarter != nil {
			spec.Restarter.Entered(self, err)
		}
		if err != nil {
			loop.Exit(err)
			return
		}
		if !spec.WaitForReady {
			r.markReady()
		}
	})
}

// callRunAsync calls the event-loop entry point, turning a panic into an
// error.
func callRunAsync(ctx context.Context, svc modes.AsyncRunner, loop *loop.View) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &modes.PanicError{Value: v, Stack: debug.Stack(), Func: fmt.Sprintf("(%T).RunAsync", svc)}
		}
	}()
	if err := svc.RunAsync(ctx, loop); err != nil {
		return fmt.Errorf("RunAsync: %w", err)
	}
	return nil
}

// callRun calls the blocking entry point, turning a panic into an error.
func callRun(ctx context.Context, svc modes.Runner) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &modes.PanicError{Value: v, Stack: debug.Stack(), Func: fmt.Sprintf("(%T).Run", svc)}
		}
	}()
	return svc.Run(ctx)
}
