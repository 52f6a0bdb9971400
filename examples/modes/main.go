// Command modes runs one service in each execution mode. Every service
// logs a heartbeat each second with the process id and the id of the OS
// thread it runs on, so the log shows where each mode puts its service:
// the main event loop on the main thread (tid equals pid), the thread modes
// on threads of their own, and the process modes in child processes of
// this program (their own pid; ppid is this program's). The cruncher also
// calls the worker in its child each second and logs its answer. It runs
// until SIGINT or SIGTERM, then stops the services in the reverse of their
// start order and exits 0.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

const period = time.Second

// beat logs one heartbeat from the calling thread.
func beat(log *zap.Logger, fields ...zap.Field) {
	log.Info("heartbeat", append([]zap.Field{zap.Int("pid", os.Getpid()), zap.Int("tid", unix.Gettid())}, fields...)...)
}

// Pulse runs on the main event loop (MAIN_EVENT_LOOP_ASYNC).
type Pulse struct{ log *zap.Logger }

func NewPulse(log *zap.Logger) *Pulse {
	return &Pulse{log: log}
}

func (p *Pulse) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(period, func() { beat(p.log) })
	return nil
}

// Cruncher blocks in Run on its own OS thread (SEPARATE_THREAD). Each
// round it asks the worker, in the worker's child process, how many beats
// it has done, through the worker's Client: taking it makes the worker start
// before the cruncher and stop after it, and the call would be the same if
// the worker ran in this process.
type Cruncher struct {
	log    *zap.Logger
	worker *app.Client
	rounds atomic.Int64 // read from the reporter's thread
}

func NewCruncher(log *zap.Logger, worker *app.Client) *Cruncher {
	return &Cruncher{log: log, worker: worker}
}

func (c *Cruncher) Run(ctx context.Context) error {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			c.rounds.Add(1)
			// The worker starts after the cruncher and stops before it:
			// between those times it answers. A deadline keeps a stuck
			// worker from holding the cruncher up.
			call, cancel := context.WithTimeout(ctx, period/2)
			beats, err := c.worker.Call(call, []byte("beats"))
			cancel()
			if err == nil {
				beat(c.log, zap.ByteString("worker_beats", beats))
			} else {
				beat(c.log)
			}
		}
	}
}

// Rounds says how many rounds the cruncher has done.
func (c *Cruncher) Rounds() int64 { return c.rounds.Load() }

// Reporter runs on a private event loop on its own OS thread
// (SEPARATE_THREAD_ASYNC). It depends on the cruncher, so it starts after
// the cruncher and stops before it.
type Reporter struct {
	log      *zap.Logger
	cruncher *Cruncher
}

func NewReporter(log *zap.Logger, c *Cruncher) *Reporter {
	return &Reporter{log: log, cruncher: c}
}

func (r *Reporter) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(period, func() { beat(r.log, zap.Int64("rounds", r.cruncher.Rounds())) })
	return nil
}

// Worker blocks in Run in a child process (SEPARATE_PROCESS). Only the
// child calls NewWorker: this program never builds a Worker, so nothing
// here may depend on one; it is reached with Supervisor.Call, which
// HandleCall answers in the child. Its log lines reach this program's log,
// tagged with the service and the child's pid.
type Worker struct {
	log   *zap.Logger
	beats atomic.Int64 // counted by Run, read by HandleCall
}

func NewWorker(log *zap.Logger) *Worker {
	return &Worker{log: log}
}

func (w *Worker) Run(ctx context.Context) error {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			beat(w.log, zap.Int("ppid", os.Getppid()), zap.Int64("beats", w.beats.Add(1)))
		}
	}
}

// HandleCall answers the calls the cruncher makes, in the worker's child,
// on a goroutine of the call's own.
func (w *Worker) HandleCall(_ context.Context, request []byte) ([]byte, error) {
	if string(request) != "beats" {
		return nil, fmt.Errorf("worker: unknown request %q", request)
	}
	return strconv.AppendInt(nil, w.beats.Load(), 10), nil
}

// Watcher runs on the main event loop of a child process of its own
// (SEPARATE_PROCESS_ASYNC): on that child's main thread, so its tid is the
// child's pid.
type Watcher struct{ log *zap.Logger }

func NewWatcher(log *zap.Logger) *Watcher {
	return &Watcher{log: log}
}

func (w *Watcher) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(period, func() { beat(w.log, zap.Int("ppid", os.Getppid())) })
	return nil
}

func main() {
	app.New(
		// Registered before the cruncher, but started after it: it
		// depends on the cruncher, which calls the worker. Start order:
		// pulse, worker, cruncher, reporter, watcher.
		app.Service("pulse", NewPulse, modes.MainEventLoopAsync),
		app.Service("reporter", NewReporter, modes.SeparateThreadAsync),
		app.Service("cruncher", fx.Annotate(NewCruncher, fx.ParamTags(``, `name:"worker"`)), modes.SeparateThread),
		// Each run of these is a child process: this binary started again
		// as "hostfx: modes worker" (see ps), building only that service.
		app.Service("worker", NewWorker, modes.SeparateProcess),
		app.Service("watcher", NewWatcher, modes.SeparateProcessAsync),
	).Run()
}
