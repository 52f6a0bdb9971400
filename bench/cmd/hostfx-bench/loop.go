package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/modes"
)

// A standalone loop engine, run on a plain goroutine like the channel
// baseline's consumer, isolates the cost of the loop itself. locked runs
// it on a goroutine locked to its OS thread, as an app runs its main loop.
func startLoop(locked bool) (modes.Loop, func()) {
	el := loop.New(loop.Config{Name: "bench"}) // default config: the watchdog runs
	go func() {
		if locked {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		el.Run()
	}()
	return el.Scope("bench"), func() { el.Stop(); <-el.Done() }
}

// chanConsumer is the baseline: funcs over a buffered channel to one
// goroutine that runs them.
func chanConsumer() (chan func(), func()) {
	ch := make(chan func(), 1024)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for fn := range ch {
			fn()
		}
	}()
	return ch, func() { close(ch); <-exited }
}

func benchLoopPost(p harness.Plan, rep *report) error {
	loop, stopLoop := startLoop(false)
	defer stopLoop()
	ch, stopChan := chanConsumer()
	defer stopChan()

	ran := 0 // touched only by the consumer
	fn := func() { ran++ }
	post := func(n int) (time.Duration, time.Duration, error) {
		done := make(chan struct{})
		begin := time.Now()
		for range n {
			loop.Post(fn)
		}
		loop.Post(func() { close(done) })
		<-done
		return time.Since(begin), 0, nil
	}
	send := func(n int) (time.Duration, time.Duration, error) {
		done := make(chan struct{})
		begin := time.Now()
		for range n {
			ch <- fn
		}
		ch <- func() { close(done) }
		<-done
		return time.Since(begin), 0, nil
	}
	rs, err := harness.Measure(p, post, send)
	if err != nil {
		return err
	}
	rep.add(row{name: "loop_post", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 1.5})
	rep.add(row{
		name: "loop_post_allocs", hostfx: allocsText(rs[0].Allocs), baseline: allocsText(rs[1].Allocs), ratio: rs[0].Allocs,
		goalText: "0 allocs", pass: boolp(rs[0].Allocs < 0.01),
	})
	return nil
}

func benchLoopRTT(p harness.Plan, rep *report) error {
	reply := make(chan struct{})
	answer := func() { reply <- struct{}{} }
	viaLoop := func(loop modes.Loop) harness.Sampler {
		return func(n int) (time.Duration, time.Duration, error) {
			begin := time.Now()
			for range n {
				loop.Post(answer)
				<-reply
			}
			return time.Since(begin), 0, nil
		}
	}
	loop, stopLoop := startLoop(false)
	defer stopLoop()
	lockedLoop, stopLocked := startLoop(true)
	defer stopLocked()
	pingPong, stopPong := pingPonger(false)
	defer stopPong()
	lockedPingPong, stopLockedPong := pingPonger(true)
	defer stopLockedPong()

	// The same round trip through the main loop of a started app, where it
	// runs on a goroutine locked to its own OS thread.
	mainLoop, stopApp, err := appMainLoop()
	if err != nil {
		return err
	}
	defer stopApp()

	rs, err := harness.Measure(p, viaLoop(loop), pingPong, viaLoop(mainLoop), viaLoop(lockedLoop), lockedPingPong)
	if err != nil {
		return err
	}
	rep.add(row{name: "loop_rtt", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 1.5})
	rep.add(row{name: "loop_rtt_app_main_loop", hostfx: spread(rs[2]), baseline: spread(rs[1]), cmp: compare(rs[2], rs[1])})
	rep.add(row{name: "loop_rtt_locked", hostfx: spread(rs[3]), baseline: spread(rs[4]), cmp: compare(rs[3], rs[4])})
	rep.note("loop_rtt_app_main_loop: the same round trip through the main loop of a started app, whose goroutine is locked to "+
		"an OS thread. loop_rtt_locked: a standalone loop on a locked goroutine against channel ping-pong with a locked "+
		"responder (%s): waking a parked locked goroutine is what costs, in Go itself.", dur(rs[4].PerOp))
	return nil
}

// pingPonger is the round-trip baseline: a goroutine answering over
// unbuffered channels, locked to its OS thread or not.
func pingPonger(locked bool) (harness.Sampler, func()) {
	ping, pong := make(chan struct{}), make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		if locked {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		for range ping {
			pong <- struct{}{}
		}
	}()
	return func(n int) (time.Duration, time.Duration, error) {
		begin := time.Now()
		for range n {
			ping <- struct{}{}
			<-pong
		}
		return time.Since(begin), 0, nil
	}, func() { close(ping); <-exited }
}

// loopGrabber is a MAIN_EVENT_LOOP_ASYNC service that hands out its view of
// the main loop.
type loopGrabber struct{ got chan modes.Loop }

func (g *loopGrabber) RunAsync(_ context.Context, loop modes.Loop) error {
	g.got <- loop
	return nil
}

// appMainLoop starts an app with one service on the main loop and returns
// that service's view of it.
func appMainLoop() (modes.Loop, func(), error) {
	g := &loopGrabber{got: make(chan modes.Loop, 1)}
	a := app.New(quiet(), app.Service("grabber", func() *loopGrabber { return g }, modes.MainEventLoopAsync))
	if err := a.Start(context.Background()); err != nil {
		return nil, nil, err
	}
	return <-g.got, func() { _ = a.Stop(context.Background()) }, nil
}

func allocsText(a float64) string {
	return trimFloat(a) + " allocs/op"
}

func trimFloat(a float64) string {
	if a < 0.005 {
		return "0"
	}
	return fmt.Sprintf("%.2f", a)
}

// quiet makes an app log nowhere, so its logging does not count against it.
func quiet() fx.Option {
	if verbose {
		return fx.Options()
	}
	return fx.Options(app.Logger(nopLogger), fx.NopLogger)
}
