package main

import (
	"context"
	"errors"
	"math"
	"os"
	"strconv"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/catalog"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/bench/internal/procfs"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// parallelServices is how many independent SEPARATE_PROCESS services
// parallel_start starts.
const parallelServices = 16

// benchParallelStart times Start of an app of 16 independent
// SEPARATE_PROCESS services whose children are all spawned as the app
// starts, held until their service's turn, against the same app spawning
// each child in its service's turn.
func benchParallelStart(p harness.Plan, rep *report) error {
	start := func(ahead bool) harness.Sampler {
		return func(n int) (took, stop time.Duration, err error) {
			proc.NoPrespawn.Store(!ahead)
			defer proc.NoPrespawn.Store(false)
			for range n {
				a := app.New(quiet(), scaleApp(modes.SeparateProcess, parallelServices))
				begin := time.Now()
				if err := a.Start(context.Background()); err != nil {
					return 0, 0, err
				}
				ready := time.Now()
				if err := a.Stop(context.Background()); err != nil {
					return 0, 0, err
				}
				took += ready.Sub(begin)
				stop += time.Since(ready)
			}
			return took, stop, nil
		}
	}
	rs, err := harness.Measure(p, start(true), start(false))
	if err != nil {
		return err
	}
	rep.add(row{name: "parallel_start_16", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 0.65})
	rep.note("parallel_start_16: Start of a built app of %d independent SEPARATE_PROCESS services, whose children are all "+
		"spawned as the app starts and held before they build their service, each let go in its service's turn, against "+
		"the same app with pre-spawning off (proc.NoPrespawn), each child spawned in its turn. Stop, untimed: %s and %s.",
		parallelServices, dur(rs[0].Aux), dur(rs[1].Aux))
	return nil
}

// restarter is an app of one SEPARATE_PROCESS service that restarts at
// once after each crash; it hears of each start, and, with a spare, of
// each spare that is ready.
type restarter struct {
	a       *app.App
	started chan int      // the PID of each child that started
	held    chan struct{} // a spare said hello and waits
}

const restartService = "restarted"

func newRestarter(warm bool) (*restarter, error) {
	r := &restarter{started: make(chan int, 16), held: make(chan struct{}, 16)}
	// The parent's log says when a spare is held: the next crash must find
	// one, as a service that crashes now and then would.
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(discard{}), zapcore.DebugLevel),
		zap.Hooks(func(e zapcore.Entry) error {
			if e.Message == proc.SpareHeld {
				r.held <- struct{}{}
			}
			return nil
		}))
	r.a = app.New(fx.NopLogger, app.Logger(log), restartApp(warm),
		app.Observe(func(e lifecycle.Event) {
			if s, ok := e.(*lifecycle.Started); ok && s.Err == nil {
				r.started <- s.PID
			}
		}))
	if err := r.a.Start(context.Background()); err != nil {
		return nil, err
	}
	// The child spawned ahead as the app started may have said it was held
	// before its start took it: that spare is gone.
	for len(r.held) > 0 {
		<-r.held
	}
	return r, nil
}

// restartApp is the app of warm_restart, which its children build too.
func restartApp(warm bool) fx.Option {
	opts := []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(math.MaxInt32, time.Second)}
	if warm {
		opts = append(opts, lifecycle.WarmSpare())
	}
	return fx.Options(app.ChildArgs(restartAppName, strconv.FormatBool(warm)),
		catalog.Service(restartService, modes.SeparateProcess, opts...))
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// crashes kills the running child n times and times each kill until the
// restarted child has answered a first call; with a spare, each crash
// waits, untimed, until the next spare is held.
func (r *restarter) crashes(warm bool) harness.Sampler {
	return func(n int) (took, aux time.Duration, err error) {
		for range n {
			if warm {
				if err := harness.Wait(r.held, 10*time.Second, "a held spare"); err != nil {
					return 0, 0, err
				}
			}
			pid := childPID(r.a, restartService)
			begin := time.Now()
			if err := unix.Kill(pid, unix.SIGKILL); err != nil {
				return 0, 0, err
			}
			for {
				var next int
				select {
				case next = <-r.started:
				case <-time.After(10 * time.Second):
					return 0, 0, errors.New("no restart within 10s")
				}
				if next != pid {
					break
				}
			}
			if _, err := r.a.Call(context.Background(), restartService, catalog.EchoRequest); err != nil {
				return 0, 0, err
			}
			took += time.Since(begin)
		}
		return took, 0, nil
	}
}

func (r *restarter) stop() { _ = r.a.Stop(context.Background()) }

// benchWarmRestart times a crash of a SEPARATE_PROCESS service until its
// restarted child has answered a first call, with a warm spare and
// without, against go-plugin's start plus first call, which the goplugin
// benchmark measured earlier in the run.
func benchWarmRestart(p harness.Plan, rep *report) error {
	warm, err := newRestarter(true)
	if err != nil {
		return err
	}
	defer warm.stop()
	rss, pss, err := warm.spareMemory()
	if err != nil {
		return err
	}
	cold, err := newRestarter(false)
	if err != nil {
		return err
	}
	defer cold.stop()
	<-warm.started
	<-cold.started
	rs, err := harness.Measure(p, warm.crashes(true), cold.crashes(false))
	if err != nil {
		return err
	}
	peer, ok := rep.results["goplugin_start"]
	for i, x := range []row{{name: "warm_restart", goal: 0.25}, {name: "cold_restart", goal: 0.65}} {
		x.hostfx, x.baseline, x.ratio = spread(rs[i]), "-", nan
		if ok {
			x.baseline, x.cmp = spread(peer), compare(rs[i], peer)
		} else {
			x.why = "run goplugin too"
		}
		rep.add(x)
	}
	rep.add(row{name: "spare_rss", hostfx: kib(rss), baseline: "-", ratio: nan})
	rep.add(row{name: "warm_vs_cold_restart", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1])})
	rep.note("warm_restart and cold_restart: SIGKILL of the child of a SEPARATE_PROCESS service with an immediate restart, "+
		"until the restarted child has answered a first app.Call, against go-plugin's start plus first call (the goplugin "+
		"row's baseline). warm_restart takes a spare child (lifecycle.WarmSpare), held after its exec and runtime start; "+
		"each crash waits, untimed, until the next spare is held. cold_restart spawns the child afresh. spare_rss is the "+
		"VmRSS of a held spare %v after it was held (Pss %s): what a warm spare costs while it waits.", settle, kib(pss))
	return nil
}

// spareMemory waits until a spare is held, lets it settle, and reads its
// VmRSS and Pss in KiB.
func (r *restarter) spareMemory() (rss, pss int64, err error) {
	if err := harness.Wait(r.held, 10*time.Second, "a held spare"); err != nil {
		return 0, 0, err
	}
	time.Sleep(settle)
	running := childPID(r.a, restartService)
	spare := 0
	for _, pid := range procfs.Children(os.Getpid()) {
		if pid != running {
			spare = pid
		}
	}
	if spare == 0 {
		return 0, 0, errors.New("no spare child found")
	}
	rss, err = procfs.Status(spare, "VmRSS")
	if err == nil {
		pss, err = procfs.Pss(spare)
	}
	r.held <- struct{}{} // it is still held: the first crash may take it
	return rss, pss, err
}
