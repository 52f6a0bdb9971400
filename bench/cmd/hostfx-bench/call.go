package main

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// echoer answers calls with their request, in any mode.
type echoer struct{}

func (echoer) Run(ctx context.Context) error                          { <-ctx.Done(); return nil }
func (echoer) RunAsync(context.Context, modes.Loop) error             { return nil }
func (echoer) HandleCall(_ context.Context, r []byte) ([]byte, error) { return r, nil }

// cruncher answers each call after a fixed amount of hashing, one call at
// a time, as a service with state of its own does: one replica uses one
// core, whatever its callers, so a pool's replicas are what spread the work.
type cruncher struct {
	echoer
	mu *sync.Mutex
}

// crunchRounds is about a millisecond of SHA-256 on this kind of machine: a
// call whose work, not its round trip, is what a pool spreads.
const crunchRounds = 10000

func (c cruncher) HandleCall(_ context.Context, r []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := sha256.Sum256(r)
	for range crunchRounds {
		sum = sha256.Sum256(sum[:])
	}
	return sum[:1], nil
}

// benchCall times one Call to a service in this process, in its two kinds
// of home: a thread service, whose call runs on the caller's goroutine, and
// a loop service, whose call runs on its loop; and the throughput of a pool
// of two process replicas against one, with a CPU-bound handler.
func benchCall(p harness.Plan, rep *report) error {
	a := app.New(quiet(),
		app.Service("thread", func() echoer { return echoer{} }, modes.SeparateThread),
		app.Service("loop", func() echoer { return echoer{} }, modes.SeparateThreadAsync),
	)
	if err := a.Start(context.Background()); err != nil {
		return err
	}
	defer func() { _ = a.Stop(context.Background()) }()
	calls := func(name string) harness.Sampler {
		req := []byte{1}
		return func(n int) (time.Duration, time.Duration, error) {
			begin := time.Now()
			for range n {
				if _, err := a.Call(context.Background(), name, req); err != nil {
					return 0, 0, err
				}
			}
			return time.Since(begin), 0, nil
		}
	}
	pingPong, stopPong := pingPonger(false)
	defer stopPong()
	rs, err := harness.Measure(p, calls("thread"), calls("loop"), pingPong)
	if err != nil {
		return err
	}
	rep.add(row{name: "call_thread", hostfx: spread(rs[0]), baseline: spread(rs[2]), cmp: compare(rs[0], rs[2]), goal: 2})
	rep.add(row{name: "call_loop", hostfx: spread(rs[1]), baseline: spread(rs[2]), cmp: compare(rs[1], rs[2]), goal: 2})
	rep.note("call_thread and call_loop: one Supervisor.Call to a SEPARATE_THREAD and a SEPARATE_THREAD_ASYNC service of a started " +
		"app, against a goroutine ping-pong over unbuffered channels (loop_rtt's baseline). The thread service answers on " +
		"the caller's goroutine; the loop service on its loop, whose goroutine is locked to its own OS thread, so each call " +
		"wakes that thread (see loop_rtt_locked).")
	return benchPool(p, rep)
}

// benchPool compares the throughput of 2 process replicas with 1, each
// taking calls from 8 goroutines at once.
func benchPool(p harness.Plan, rep *report) error {
	pool := func(replicas int) (harness.Sampler, func(), error) {
		a := app.New(quiet(), poolApp(replicas))
		if err := a.Start(context.Background()); err != nil {
			return nil, nil, err
		}
		return func(n int) (time.Duration, time.Duration, error) {
			begin := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var first error
			work := make(chan struct{}, n)
			for range n {
				work <- struct{}{}
			}
			close(work)
			for range 8 {
				wg.Go(func() {
					for range work {
						if _, err := a.Call(context.Background(), "crunch", []byte{1}); err != nil {
							mu.Lock()
							first = err
							mu.Unlock()
							return
						}
					}
				})
			}
			wg.Wait()
			return time.Since(begin), 0, first
		}, func() { _ = a.Stop(context.Background()) }, nil
	}
	two, stopTwo, err := pool(2)
	if err != nil {
		return err
	}
	defer stopTwo()
	one, stopOne, err := pool(1)
	if err != nil {
		return err
	}
	defer stopOne()
	rs, err := harness.Measure(p, two, one)
	if err != nil {
		return err
	}
	// Throughput is the inverse of time per call: 1 replica's time over 2's.
	throughput := harness.Compare(rs[0], rs[1]).Inverse()
	rep.add(row{name: "pool_2_vs_1", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: &throughput, least: 1.6})
	rep.note("pool_2_vs_1: time per call to a SEPARATE_PROCESS service with Replicas(2) against Replicas(1), each call "+
		"%d rounds of SHA-256 in the child, one call at a time per replica, 8 callers at once; the ratio is the throughput "+
		"of 2 over 1 (time per call of 1 over 2).", crunchRounds)
	return nil
}

// poolApp is the app of pool_2_vs_1, which its children build too.
func poolApp(replicas int) fx.Option {
	return fx.Options(app.ChildArgs(poolAppName, strconv.Itoa(replicas)),
		app.Service("crunch", func() cruncher { return cruncher{mu: new(sync.Mutex)} }, modes.SeparateProcess, lifecycle.Replicas(replicas)))
}
