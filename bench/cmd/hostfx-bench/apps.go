package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/catalog"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/modes"
)

// phases adds up where the cycles of an app spent their time.
type phases struct {
	build, start, stop time.Duration
	n                  int
}

// startStop prints the phases of an app that was built once.
func (p *phases) startStop() string {
	if p.n == 0 {
		return "-"
	}
	n := time.Duration(p.n)
	return fmt.Sprintf("Start %s + Stop %s", dur(p.start/n), dur(p.stop/n))
}

func (p *phases) String() string {
	if p.n == 0 {
		return "-"
	}
	n := time.Duration(p.n)
	return fmt.Sprintf("New %s + Start %s + Stop %s", dur(p.build/n), dur(p.start/n), dur(p.stop/n))
}

// starter is what app.App and fx.App have in common.
type starter interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// cycle builds, starts and stops an app n times, adding the time of each
// phase to ph. An app cannot be started again once stopped (its services
// see the app as halted), so every cycle builds a new one.
func cycle(ph *phases, build func() starter) harness.Sampler {
	return func(n int) (time.Duration, time.Duration, error) {
		begin := time.Now()
		for range n {
			t0 := time.Now()
			a := build()
			t1 := time.Now()
			if err := a.Start(context.Background()); err != nil {
				return 0, 0, err
			}
			t2 := time.Now()
			if err := a.Stop(context.Background()); err != nil {
				return 0, 0, err
			}
			ph.build, ph.start, ph.stop, ph.n = ph.build+t1.Sub(t0), ph.start+t2.Sub(t1), ph.stop+time.Since(t2), ph.n+1
		}
		return time.Since(begin), 0, nil
	}
}

func hostfxApp(opts ...fx.Option) func() starter {
	return func() starter { return app.New(opts...) }
}

// rawThread starts a goroutine, locks it to a fresh OS thread and ends it,
// which discards the thread: what SEPARATE_THREAD promises, done by hand.
func rawThread(n int) (time.Duration, time.Duration, error) {
	begin := time.Now()
	for range n {
		started, stop, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			defer close(done)
			close(started)
			<-stop
		}()
		<-started
		close(stop)
		<-done
	}
	return time.Since(begin), 0, nil
}

func benchThread(p harness.Plan, rep *report) error {
	service := catalog.Service("t0", modes.SeparateThread)
	// The smallest public path: start and stop a built app again and again.
	a := app.New(quiet(), service)
	if err := a.Err(); err != nil {
		return err
	}
	var again phases
	restart := cycle(&again, func() starter { return a })
	var fresh phases
	withNew := cycle(&fresh, hostfxApp(quiet(), service))
	rs, err := harness.Measure(p, restart, rawThread, withNew)
	if err != nil {
		return err
	}
	rep.add(row{name: "thread_startstop", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 2})
	rep.add(row{name: "thread_startstop_new", hostfx: spread(rs[2]), baseline: spread(rs[1]), cmp: compare(rs[2], rs[1])})
	rep.note("thread_startstop: Start+Stop of a built app with one SEPARATE_THREAD service, again and again; "+
		"thread_startstop_new builds a new app each time. Means: %s; with New: %s.", again.startStop(), &fresh)
	return nil
}

func benchApp1000(p harness.Plan, rep *report) error {
	const n = 1000
	// Both build their options once: fx records a stack trace per option.
	services, providers := catalog.Services("s", n, modes.MainEventLoopAsync), catalog.HookedN(n)
	var hostfxPhases, fxPhases phases
	hostfx := cycle(&hostfxPhases, hostfxApp(quiet(), services))
	plain := cycle(&fxPhases, func() starter { return fx.New(fx.NopLogger, providers) })
	rs, err := harness.Measure(p, hostfx, plain)
	if err != nil {
		return err
	}
	rep.add(row{name: "app_1000", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 1.5})
	rep.note("app_1000: New+Start+Stop of 1000 MAIN_EVENT_LOOP_ASYNC services of one constructor, against fx with 1000 "+
		"providers of one type told apart by name tags, each appending a hook, and an invoke of each. Means: hostfx %s; fx %s.",
		&hostfxPhases, &fxPhases)
	return nil
}
