package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/thejerf/suture/v4"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

var errFlaky = errors.New("flaky: failed at once")

// flaky fails at once on every run but the last one it is given, which
// records the time and stays up until it is stopped. hostfx calls Run or
// RunAsync, suture calls Serve: the same failure each way.
type flaky struct {
	last        int64 // the run that stays up
	runs        atomic.Int64
	first, stop atomic.Int64 // UnixNano of the first and the last run
	done        chan struct{}
}

func newFlaky(restarts int) *flaky {
	return &flaky{last: int64(restarts) + 1, done: make(chan struct{})}
}

// enter counts a run and reports whether it is the last.
func (f *flaky) enter() bool {
	n := f.runs.Add(1)
	if n == 1 {
		f.first.Store(time.Now().UnixNano())
	}
	if n == f.last {
		f.stop.Store(time.Now().UnixNano())
		close(f.done)
		return true
	}
	return false
}

func (f *flaky) took() time.Duration { return time.Duration(f.stop.Load() - f.first.Load()) }

func (f *flaky) Run(ctx context.Context) error {
	if f.enter() {
		<-ctx.Done()
		return nil
	}
	return errFlaky
}

func (f *flaky) RunAsync(_ context.Context, loop modes.Loop) error {
	if !f.enter() {
		loop.Exit(errFlaky) // a crash right after a successful start
	}
	return nil
}

func (f *flaky) Serve(ctx context.Context) error { return f.Run(ctx) }

// hostfxRestarts times n restarts of a service that fails at once.
func hostfxRestarts(mode modes.ExecutionMode) harness.Sampler {
	return func(n int) (time.Duration, time.Duration, error) {
		f := newFlaky(n)
		var restarting atomic.Int64
		a := app.New(quiet(),
			app.Service("flaky", func() *flaky { return f }, mode,
				lifecycle.Restart(lifecycle.Immediate()),
				lifecycle.Intensity(1<<30, time.Minute),
			),
			app.Observe(func(e lifecycle.Event) {
				if _, ok := e.(*lifecycle.Restarting); ok {
					restarting.Add(1)
				}
			}),
		)
		if err := a.Start(context.Background()); err != nil {
			return 0, 0, err
		}
		err := harness.Wait(f.done, time.Minute, "hostfx restarts")
		err = errors.Join(err, a.Stop(context.Background()))
		if got := restarting.Load(); err == nil && got != int64(n) {
			err = fmt.Errorf("hostfx restarts: %d Restarting events for %d restarts", got, n)
		}
		return f.took(), 0, err
	}
}

// sutureRestarts times n restarts of the same service under suture, set so
// that it never backs off.
func sutureRestarts(n int) (time.Duration, time.Duration, error) {
	f := newFlaky(n)
	sup := suture.New("bench", suture.Spec{
		EventHook:        func(suture.Event) {}, // the default logs every restart
		FailureThreshold: 1e18,
		FailureBackoff:   time.Nanosecond,
	})
	sup.Add(f)
	ctx, cancel := context.WithCancel(context.Background())
	ended := sup.ServeBackground(ctx)
	err := harness.Wait(f.done, time.Minute, "suture restarts")
	cancel()
	if serveErr := <-ended; serveErr != nil && !errors.Is(serveErr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("suture: %w", serveErr))
	}
	return f.took(), 0, err
}

func benchRestart(p harness.Plan, rep *report) error {
	rs, err := harness.Measure(p, hostfxRestarts(modes.MainEventLoopAsync), sutureRestarts, hostfxRestarts(modes.SeparateThread))
	if err != nil {
		return err
	}
	rep.add(row{name: "restart_vs_suture", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 1})
	rep.add(row{name: "restart_thread_vs_suture", hostfx: spread(rs[2]), baseline: spread(rs[1]), cmp: compare(rs[2], rs[1])})
	rep.note("restart_vs_suture: time per restart of a service that fails at once, Restart(Immediate()), Intensity(1<<30, 1m), "+
		"MAIN_EVENT_LOOP_ASYNC (RunAsync succeeds, then loop.Exit(err); %d restarts a sample), restarted on the loop itself; "+
		"suture v4 restarting the same service, %d a sample. restart_thread_vs_suture is the same in SEPARATE_THREAD (Run returns "+
		"an error; %d a sample), where every restart is a fresh OS thread, as the mode promises: no goal.", rs[0].N, rs[1].N, rs[2].N)
	return nil
}
