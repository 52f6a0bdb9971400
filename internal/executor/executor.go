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
	"github.com/hostfx/hostfx/internal/signs"
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
	// Alive, when set, receives the run's signs of life, at least one per
	// Watchdog period while the service makes progress: a blocking
	// service's calls of lifecycle.Alive, or, on a loop, a probe the loop
	// ran among the service's callbacks (at half the period); a child
	// process forwards its own. Alive must be quick and safe for
	// concurrent use.
	Alive func()
	// Watchdog is the service's watchdog period, when Alive is set.
	Watchdog time.Duration
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

// Hung ends a run that its supervisor found hung, for why: it stops the
// run, or kills a child process, and returns the stack of the goroutine the
// run is stuck on, taken before the stop, when the run can tell. A child
// process writes all its goroutines to its stderr instead as it is killed,
// and its error carries them.
func Hung(run Run, why string) []byte {
	if h, ok := run.(interface{ Hung(why string) }); ok {
		h.Hung(why)
		return nil
	}
	stack := Stack(run)
	run.Stop()
	return stack
}

// Stack returns the current stack of the goroutine run's entry point runs
// on (its thread's, or its loop's), or nil when run cannot tell.
func Stack(run Run) []byte {
	if s, ok := run.(interface{ Stack() []byte }); ok {
		return s.Stack()
	}
	return nil
}

// CleanEnd is how a run ended cleanly for a reason worth telling, such as
// a child process that stopped in order on a signal sent to it directly:
// the supervisor treats the end as a clean one (a nil error) and reports
// the reason with it.
type CleanEnd struct{ Reason string }

func (e *CleanEnd) Error() string { return e.Reason }

// PID is the process run is in: its own child process, or this one.
func PID(run Run) int {
	if p, ok := run.(interface{ PID() int }); ok {
		return p.PID()
	}
	return pid
}

// StartsOnLoop reports whether run's start is a callback on an event loop,
// posted for a caller that looks for it (see loop.View.PostAwaited): a
// start another thread reports within microseconds, worth a spin before
// sleeping. A thread's or a child's start takes far longer than a spin.
func StartsOnLoop(run Run) bool {
	_, ok := run.(*loopRun)
	return ok
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
	goid      atomic.Uint64 // the goroutine the entry point runs on
}

// newRun makes a run whose context takes lifecycle.Ready when the service
// waits for it, and lifecycle.Alive when alive is set. Without
// waitForReady the run is ready once its entry point has entered (see
// enter and startAsync), and a call of lifecycle.Ready does nothing, as
// its doc says: were it to close ready, a loop service's start could be
// reported before its loop has seen it enter.
func newRun(waitForReady bool, alive func()) *run {
	r := &run{ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.ctx = ctx
	if waitForReady {
		r.ctx = signs.WithReady(ctx, r.markReady)
	}
	if alive != nil {
		r.ctx = signs.WithAlive(r.ctx, alive)
	}
	r.cancel = cancel
	return r
}

func (r *run) Ready() <-chan struct{} { return r.ready }
func (r *run) TID() int               { return int(r.tid.Load()) }
func (r *run) markReady()             { r.readyOnce.Do(func() { close(r.ready) }) }

// Stack returns the current stack of the goroutine the entry point runs
// on, or nil before it runs or once that goroutine has ended.
func (r *run) Stack() []byte { return goroutineStack(r.goid.Load()) }

func (r *run) enter(spec Spec) {
	r.tid.Store(int64(unix.Gettid()))
	r.goid.Store(goid())
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
			r.goid.Store(goid())
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
