package executor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/supervisor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// ticking calls lifecycle.Alive once per value on beat, and then blocks
// in wedgedForTheWatchdog, deaf to its context, until release closes.
type ticking struct {
	beat    chan struct{}
	wedged  chan struct{}
	release chan struct{}
}

func newTicking() *ticking {
	return &ticking{beat: make(chan struct{}), wedged: make(chan struct{}), release: make(chan struct{})}
}

func (s *ticking) Run(ctx context.Context) error {
	for range s.beat {
		lifecycle.Alive(ctx)
	}
	wedgedForTheWatchdog(s.wedged, s.release)
	return ctx.Err()
}

func wedgedForTheWatchdog(wedged chan<- struct{}, release <-chan struct{}) {
	close(wedged)
	<-release
}

func TestThreadPassesSignsOfLifeAndShowsWhereItIsStuck(t *testing.T) {
	svc := newTicking()
	var alive atomic.Int32
	r := executor.Thread{}.Launch(executor.Spec{Name: "t", Service: svc, Watchdog: time.Second, Alive: func() { alive.Add(1) }})
	<-r.Ready()
	svc.beat <- struct{}{}
	svc.beat <- struct{}{}
	close(svc.beat)
	<-svc.wedged
	assert.EqualValues(t, 2, alive.Load(), "lifecycle.Alive reaches the run's Alive")

	stack := string(executor.Hung(r, "test"))
	assert.Contains(t, stack, "wedgedForTheWatchdog", "the dump is of the run's own goroutine")
	assert.NotContains(t, stack, "TestThreadPassesSignsOfLife")
	close(svc.release)
	assert.ErrorIs(t, r.Wait(), context.Canceled, "Hung stopped the run")
}

// loopService posts, on demand, a callback that holds its loop until
// release closes.
type loopService struct {
	loop    chan modes.Loop
	held    chan struct{}
	release chan struct{}
}

func newLoopService() *loopService {
	return &loopService{loop: make(chan modes.Loop, 1), held: make(chan struct{}), release: make(chan struct{})}
}

func (s *loopService) RunAsync(_ context.Context, loop modes.Loop) error {
	s.loop <- loop
	return nil
}

func (s *loopService) hold() {
	(<-s.loop).Post(func() { holdingTheLoop(s.held, s.release) })
}

func holdingTheLoop(held chan<- struct{}, release <-chan struct{}) {
	close(held)
	<-release
}

func TestLoopProbesTravelThroughTheServicesLoop(t *testing.T) {
	for name := range loopExecutors(nil) {
		t.Run(name, func(t *testing.T) {
			clock := clockwork.NewFakeClock()
			e, cleanup := loopExecutors(clock)[name]()
			defer cleanup()
			svc := newLoopService()
			alive := make(chan struct{}, 10)
			r := e.Launch(executor.Spec{Name: "looper", Service: svc, Watchdog: 2 * time.Second, StopTimeout: time.Minute,
				Alive: func() { alive <- struct{}{} }})
			<-r.Ready()
			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()

			// A loop that turns runs the probe: a sign of life each half period.
			for range 2 {
				require.NoError(t, clock.BlockUntilContext(ctx, 1))
				clock.Advance(time.Second)
				<-alive
			}

			// A held loop runs none, however often the prober ticks, and
			// they do not pile up.
			svc.hold()
			<-svc.held
			for range 3 {
				require.NoError(t, clock.BlockUntilContext(ctx, 1))
				clock.Advance(time.Second)
			}
			assert.Empty(t, alive, "a held loop shows no life")
			stack := string(executor.Stack(r))
			assert.Contains(t, stack, "holdingTheLoop", "the dump is of the loop's goroutine")

			close(svc.release)
			<-alive // the one probe that was waiting
			r.Stop()
			require.NoError(t, r.Wait())
			assert.Empty(t, alive, "one probe at a time")
		})
	}
}

// The watchdog of an async service needs nothing of the service: a loop
// held by one of its callbacks is a hang, reported with the callback's
// stack, and restarted.
func TestSupervisorFindsAHeldLoopHung(t *testing.T) {
	clock := clockwork.NewFakeClock()
	svc := newLoopService()
	crashed := make(chan *lifecycle.Crashed, 1)
	s := &supervisor.Service{
		Name: "looper", Mode: modes.SeparateThreadAsync,
		Settings: lifecycle.DefaultSettings().With(lifecycle.Watchdog(2*time.Second), lifecycle.Restart(lifecycle.Immediate()),
			lifecycle.StopTimeout(time.Minute)),
		Executor: executor.ThreadLoop{Clock: clock},
		Instance: svc,
		Observe: func(e lifecycle.Event) {
			if c, ok := e.(*lifecycle.Crashed); ok {
				crashed <- c
			}
		},
		Clock: clock,
	}
	require.NoError(t, s.Start(context.Background()))
	svc.hold()
	<-svc.held
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	// The prober's ticker and the watchdog's timer.
	require.NoError(t, clock.BlockUntilContext(ctx, 2))
	clock.Advance(2 * time.Second)
	// Hung, and told to stop; the held callback lets go, as one that waits
	// on something the stop ends would.
	require.NoError(t, clock.BlockUntilContext(ctx, 2)) // the prober, and the wait for the end
	close(svc.release)

	var c *lifecycle.Crashed
	select {
	case c = <-crashed:
	case <-time.After(testDeadline):
		t.Fatalf("no Crashed event within %v; status: %+v", testDeadline, s.Status())
	}
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, c.Err, &te)
	assert.Equal(t, "watchdog", te.Phase)
	assert.Contains(t, string(c.Stack), "holdingTheLoop", "the event shows the callback that held the loop")
	<-svc.loop // restarted: RunAsync ran again
	require.NoError(t, s.Stop(context.Background()))
}
