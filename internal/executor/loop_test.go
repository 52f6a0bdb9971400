package executor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/internal/supervisor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// testDeadline bounds every wait of these tests, so a bug fails them
// instead of hanging them.
const testDeadline = 30 * time.Second

// crashAmidWork starts Go work and then panics in a callback. Its work
// either honours its context or waits for release alone.
type crashAmidWork struct {
	honours   bool
	release   chan struct{}
	workEnded chan struct{}
}

func newCrashAmidWork(honours bool) *crashAmidWork {
	return &crashAmidWork{honours: honours, release: make(chan struct{}), workEnded: make(chan struct{})}
}

func (c *crashAmidWork) RunAsync(_ context.Context, loop modes.Loop) error {
	started := make(chan struct{})
	loop.Go(func(ctx context.Context) error { return c.work(ctx, started) }, nil)
	loop.Post(func() {
		<-started
		panic("boom in a callback")
	})
	return nil
}

// work is what crashAmidWork runs with Loop.Go.
func (c *crashAmidWork) work(ctx context.Context, started chan struct{}) error {
	defer close(c.workEnded)
	close(started)
	if c.honours {
		<-ctx.Done()
		return ctx.Err()
	}
	<-c.release
	return nil
}

// loopExecutors builds each loop executor with clock, and a cleanup.
func loopExecutors(clock clockwork.Clock) map[string]func() (executor.Executor, func()) {
	return map[string]func() (executor.Executor, func()){
		"thread loop": func() (executor.Executor, func()) { return executor.ThreadLoop{Clock: clock}, func() {} },
		"main loop": func() (executor.Executor, func()) {
			el := loop.New(loop.Config{Name: "main"})
			go el.Run()
			return executor.MainLoop{Loop: func() *loop.Engine { return el }, Clock: clock},
				func() { el.Stop(); <-el.Done() }
		},
	}
}

func waitErr(t *testing.T, errc <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(testDeadline):
		t.Fatalf("%s: no answer within %v", what, testDeadline)
		return nil
	}
}

func TestLoopCrashIsReportedWhileGoWorkIgnoresItsContext(t *testing.T) {
	for name := range loopExecutors(nil) {
		t.Run(name, func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			e, cleanup := loopExecutors(clock)[name]()
			defer cleanup()
			svc := newCrashAmidWork(false)
			release := sync.OnceFunc(func() { close(svc.release) })
			defer release()
			r := e.Launch(executor.Spec{Name: "stubborn", Service: svc, StopTimeout: time.Minute})
			waited := make(chan error, 1)
			go func() { waited <- r.Wait() }()

			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()
			require.NoError(t, clock.BlockUntilContext(ctx, 1),
				"Wait must time a grace for the Go work, not wait for work that ignores its context")
			clock.Advance(time.Second)
			err := waitErr(t, waited, "Wait of a run that panicked")

			var pe *modes.PanicError
			require.ErrorAs(t, err, &pe, "the crash is reported: %v", err)
			assert.Equal(t, "boom in a callback", pe.Value)
			var left *executor.LeftRunningError
			require.ErrorAs(t, err, &left, "the error says what was left running: %v", err)
			assert.Equal(t, "stubborn", left.Service)
			require.Len(t, left.Work, 1)
			assert.Contains(t, left.Work[0], "crashAmidWork")
			assert.ErrorContains(t, err, `service "stubborn" ended, but its Go work`)
			assert.ErrorContains(t, err, "want Go work to return once its context is cancelled")
			release()
		})
	}
}

func TestLoopCrashWaitsForGoWorkThatHonoursItsContext(t *testing.T) {
	for name := range loopExecutors(nil) {
		t.Run(name, func(t *testing.T) {
			clock := clockwork.NewFakeClock() // never advanced: the grace never runs out
			e, cleanup := loopExecutors(clock)[name]()
			defer cleanup()
			svc := newCrashAmidWork(true)
			r := e.Launch(executor.Spec{Name: "polite", Service: svc, StopTimeout: time.Minute})
			err := r.Wait()
			var pe *modes.PanicError
			require.ErrorAs(t, err, &pe)
			var left *executor.LeftRunningError
			assert.False(t, errors.As(err, &left), "nothing was left running: %v", err)
			select {
			case <-svc.workEnded:
			default:
				t.Fatal("Wait returned while the run's Go work still ran")
			}
		})
	}
}

func TestLoopStopWaitsForAllGoWork(t *testing.T) {
	for name := range loopExecutors(nil) {
		t.Run(name, func(t *testing.T) {
			e, cleanup := loopExecutors(clockwork.NewFakeClock())[name]()
			defer cleanup()
			gate, ended := make(chan struct{}), make(chan struct{})
			svc := asyncFunc(func(_ context.Context, loop modes.Loop) error {
				loop.Go(func(context.Context) error { <-gate; close(ended); return nil }, nil)
				return nil
			})
			r := e.Launch(executor.Spec{Name: "slow", Service: svc, StopTimeout: time.Minute})
			<-r.Ready()
			r.Stop()
			waited := make(chan error, 1)
			go func() { waited <- r.Wait() }()
			require.Never(t, func() bool { return len(waited) > 0 }, 50*time.Millisecond, time.Millisecond,
				"a stopped run's Wait returned while its Go work still ran")
			close(gate)
			require.NoError(t, waitErr(t, waited, "Wait of a stopped run"))
			select {
			case <-ended:
			default:
				t.Fatal("a stopped run's Wait returned before its Go work ended")
			}
		})
	}
}

// asyncFunc makes a function an AsyncRunner.
type asyncFunc func(context.Context, modes.Loop) error

func (f asyncFunc) RunAsync(ctx context.Context, loop modes.Loop) error { return f(ctx, loop) }

// The supervisor learns of the crash at once: a Crashed event, and a
// status that no longer says running, while the work runs on.
func TestSupervisorSeesALoopCrashAmidStubbornWork(t *testing.T) {
	el := loop.New(loop.Config{Name: "main"})
	go el.Run()
	defer func() { el.Stop(); <-el.Done() }()
	svc := newCrashAmidWork(false)
	defer close(svc.release)
	crashed := make(chan *lifecycle.Crashed, 1)
	s := &supervisor.Service{
		Name: "stubborn", Mode: modes.MainEventLoopAsync,
		Settings: lifecycle.DefaultSettings().With(lifecycle.RestartPolicy(lifecycle.Never), lifecycle.StopTimeout(50*time.Millisecond)),
		Executor: executor.MainLoop{Loop: func() *loop.Engine { return el }},
		Instance: svc,
		Observe: func(e lifecycle.Event) {
			if c, ok := e.(*lifecycle.Crashed); ok {
				crashed <- c
			}
		},
		Clock: clockwork.NewRealClock(),
	}
	require.NoError(t, s.Start(context.Background()))
	var c *lifecycle.Crashed
	select {
	case c = <-crashed:
	case <-time.After(testDeadline):
		t.Fatalf("no Crashed event within %v; status: %+v", testDeadline, s.Status())
	}
	assert.ErrorContains(t, c.Err, "boom in a callback")
	assert.Contains(t, string(c.Stack), "crashAmidWork", "the event carries the panic's stack")
	assert.Equal(t, lifecycle.StateFailed, s.State())
	require.NoError(t, s.Stop(context.Background()))
}

// A service without WaitForReady counts as ready once RunAsync has
// returned, so that its loop reports the start before anyone else can:
// its own call of lifecycle.Ready does nothing, as lifecycle's doc says.
func TestLoopReadyWithoutWaitForReadyDoesNothing(t *testing.T) {
	for name := range loopExecutors(nil) {
		t.Run(name, func(t *testing.T) {
			e, cleanup := loopExecutors(nil)[name]()
			defer cleanup()
			called, proceed := make(chan struct{}), make(chan struct{})
			svc := asyncFunc(func(ctx context.Context, _ modes.Loop) error {
				lifecycle.Ready(ctx)
				close(called)
				<-proceed
				return nil
			})
			r := e.Launch(executor.Spec{Name: "eager", Service: svc, StopTimeout: time.Minute})
			<-called
			select {
			case <-r.Ready():
				t.Error("the run was ready while RunAsync still ran: lifecycle.Ready took effect without WaitForReady")
			default:
			}
			close(proceed)
			<-r.Ready()
			r.Stop()
			require.NoError(t, waitFor(t, r))
		})
	}
}

// waitFor returns r's Wait, within the test's deadline.
func waitFor(t *testing.T, r executor.Run) error {
	t.Helper()
	waited := make(chan error, 1)
	go func() { waited <- r.Wait() }()
	return waitErr(t, waited, "Wait")
}
