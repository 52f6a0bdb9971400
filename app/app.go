package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/proc"
)

func init() {
	// Keep the main goroutine on the main OS thread, so App.Run called from
	// main can run the main event loop there.
	runtime.LockOSThread()
}

// mainLoopGrace is how long Run waits for a stalled main loop to let go of
// the main thread after everything else has stopped.
const mainLoopGrace = 2 * time.Second

// App is an fx application that hosts services.
type App struct {
	// Supervisor reports on the app's services and reaches them: Status,
	// Call and Dial.
	*Supervisor

	fx       *fx.App
	panicked error // a service's constructor panicked: the app was not built
	host     *host
	log      *zap.Logger
	services []*spec
}

// New builds an app from fx options: services registered with Service,
// ordinary fx.Provide/fx.Invoke/fx.Module options, and this package's
// options. Errors are held until Run, Start or Err.
func New(opts ...fx.Option) *App {
	a := &App{Supervisor: new(Supervisor)}
	a.unbuilt = a.Err
	fxLogger := fx.WithLogger(func(log hostLog) fxevent.Logger {
		l := &fxevent.ZapLogger{Logger: log.Logger}
		l.UseLogLevel(zapcore.DebugLevel) // fx's own steps are detail; errors still log as errors
		return doneAtBuild{l}
	})
	if proc.Current() != nil {
		// A child reports its own failures to the parent, which logs them;
		// fx's step-by-step log would only slow every child's start.
		fxLogger = fx.NopLogger
	}
	graph, specs, err := plan(opts)
	if err != nil {
		graph = []fx.Option{fx.Error(err)}
	}
	a.services = specs.list
	a.fx, a.panicked = buildFx(specs.list,
		framework,
		// As Module's invoke does, this builds the host before any service;
		// one invoke instead of two keeps New as quick as plain fx.
		fx.Invoke(func(h *host) { a.host, a.log, a.Supervisor.host = h, h.log, h }),
		fxLogger,
		fx.Supply(specs),
		fx.Options(graph...),
	)
	return a
}

// buildFx is fx.New, except that a service's constructor that panics makes
// a *BuildError naming the service instead of crashing the program. A
// panic anywhere else goes on, as in plain fx.
func buildFx(services []*spec, opts ...fx.Option) (app *fx.App, failed error) {
	defer func() {
		if failed != nil {
			return
		}
		p := recover()
		if p == nil {
			return
		}
		s := panickedIn(services)
		if s == nil {
			panic(p)
		}
		failed = &BuildError{Service: s.name, Mode: s.mode, At: s.at, Constructor: s.ctorDoc,
			Err: fmt.Errorf("panicked: %v", p)}
		app = fx.New(fx.NopLogger, fx.Error(failed)) // an app that only reports it
	}()
	return fx.New(opts...), nil
}

// panickedIn finds the service whose constructor is on the stack of a
// panic being recovered.
func panickedIn(services []*spec) *spec {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		for _, s := range services {
			if s.ctorFunc != "" && f.Function == s.ctorFunc {
				return s
			}
		}
		if !more {
			return nil
		}
	}
}

// Err returns the error that kept the app from being built, if any.
func (a *App) Err() error {
	if a.panicked != nil {
		return a.panicked
	}
	err := a.fx.Err()
	if is := (*invalidServices)(nil); errors.As(err, &is) {
		return is.error
	}
	return buildFailure(err, a.services)
}

// Start starts every service in dependency order. It returns once all have
// started, or stops the ones that had and returns why one did not. An app
// that was stopped may be started again.
func (a *App) Start(ctx context.Context) error {
	if err := a.Err(); err != nil {
		return err // as Err words it: naming the service, not fx's frames
	}
	return a.fx.Start(ctx)
}

// Stop stops every service in the reverse of their start order and returns
// all the errors met on the way.
func (a *App) Stop(ctx context.Context) error { return a.fx.Stop(ctx) }

// Wait returns a channel that receives when the app should stop: on SIGINT
// or SIGTERM, on fx.Shutdowner, or when a service gives up (exit code 1).
func (a *App) Wait() <-chan fx.ShutdownSignal { return a.fx.Wait() }

// Run starts the app, waits for SIGINT, SIGTERM or a service that gives up,
// and stops it. On SIGHUP it replaces the process-mode services registered
// with lifecycle.ReplaceOnHangup, one after another (see
// Supervisor.Replace), and logs each; without such a service, SIGHUP keeps
// its default effect. A second signal during the stop exits at once, after
// logging the services still stopping. Run returns after a clean stop; on a
// build or start failure, a service that gave up, or a stop that failed it
// exits the process non-zero. A build that ends with an error carrying an
// exit code, as config.ErrPrinted after --print-config, has done what the
// program was run for: Run starts nothing and ends with that code, 0
// returning.
//
// Called from main, Run runs the main event loop on the process's main OS
// thread.
func (a *App) Run() {
	code := a.run()
	if c := proc.Current(); c != nil {
		c.Exit(code) // and whatever the service started
	}
	if code != 0 {
		os.Exit(code)
	}
}

// doneAtBuild logs an invoke that did the program's whole work, such as
// printing the configuration, as the detail it is rather than as an error.
type doneAtBuild struct{ *fxevent.ZapLogger }

func (l doneAtBuild) LogEvent(e fxevent.Event) {
	var done exitCoder
	if inv, ok := e.(*fxevent.Invoked); ok && errors.As(inv.Err, &done) {
		l.Logger.Debug("invoke ended the program's work", zap.String("function", inv.FunctionName), zap.Error(inv.Err))
		return
	}
	l.ZapLogger.LogEvent(e)
}

// exitCoder is a build error that ends Run with its code and no failure
// logged: an option that does the program's whole work while the app is
// built returns one, as config.ErrPrinted after --print-config.
type exitCoder interface {
	error
	ExitCode() int
}

func (a *App) run() int {
	if err := a.Err(); err != nil {
		var done exitCoder
		if errors.As(err, &done) { // the build did what the program was run for
			return done.ExitCode()
		}
		log := a.log
		if log == nil { // the graph failed before it could give us one
			if log, _ = NewLogger(); log == nil {
				log = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
					zapcore.Lock(os.Stderr), zapcore.InfoLevel))
			}
		}
		log.Error("app build failed", zap.Error(err))
		if c := proc.Current(); c != nil {
			_ = c.Send(proc.Frame{Kind: proc.KindStartFailed, Text: "build: " + err.Error()})
		}
		return 1
	}
	if c := a.host.child; c != nil {
		c.mu.Lock()
		c.hosted = true
		c.mu.Unlock()
	}
	if unix.Gettid() != unix.Getpid() {
		return a.drive()
	}
	// This is the main goroutine, locked to the main thread since init.
	if a.host.child != nil && !a.host.needsMainLoop() {
		return a.lendMainThread()
	}
	// It runs the main loop while another goroutine drives the app.
	a.host.mu.Lock()
	a.host.mainHosted = true
	a.host.mu.Unlock()
	code := make(chan int, 1)
	go func() {
		c := a.drive()
		a.host.mainLoop.Stop()
		select {
		case <-a.host.mainLoop.Done():
			code <- c
		case <-time.After(mainLoopGrace):
			a.log.Error("main event loop did not return; exiting", zap.String("busy", a.host.busy()))
			os.Exit(max(c, 1))
		}
	}()
	a.host.mainLoop.Run()
	return <-code
}

// lendMainThread drives the app from another goroutine and keeps the main
// thread for the child's SEPARATE_PROCESS service, whose Run then needs no
// thread of its own: a new thread is a notable part of a young process's
// start.
func (a *App) lendMainThread() int {
	runs := make(chan func(), 1)
	a.host.mu.Lock()
	a.host.mainRuns = runs
	a.host.mu.Unlock()
	code := make(chan int, 1)
	go func() { code <- a.drive() }()
	for {
		select {
		case run := <-runs:
			run()
		case c := <-code:
			return c
		}
	}
}

// drive starts the app, waits for a reason to stop and stops it.
func (a *App) drive() int {
	// Listen before starting, so a signal during start is not fatal: it
	// cuts the start short and the started services stop in order. A child
	// listens alongside its start instead: setting up signal handling costs
	// a young process an OS thread, the parent owns its signals anyway, and
	// a shutdown asked for meanwhile is kept until it listens.
	listening := make(chan (<-chan fx.ShutdownSignal), 1)
	hup := a.host.watchHangups() // from now on too: a SIGHUP during the start waits for it
	defer hup.end()
	if a.host.child != nil {
		go func() { listening <- a.fx.Wait() }()
	} else {
		listening <- a.fx.Wait()
	}
	startCtx, cancel := a.phase(a.fx.StartTimeout())
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- a.fx.Start(startCtx) }()
	wait := <-listening
	var sig fx.ShutdownSignal
	select {
	case err := <-started:
		if err != nil {
			a.log.Error("app start failed", zap.Error(err))
			if c := a.host.child; c != nil {
				c.startFailed(err)
			}
			return 1
		}
		hup.serve(a.host)
		sig = a.awaitStop(wait)
	case sig = <-wait:
		a.host.haltAll()
		// The rollback stops what had started; a second signal cuts it short.
		force := a.forceOnSignal()
		defer signal.Stop(force)
		select {
		case err := <-started:
			if err != nil {
				a.log.Info("start interrupted", zap.Error(err))
				return max(sig.ExitCode, exitCode(a.host.failed()))
			}
		case s := <-force:
			a.forceExit(s)
		}
	}

	hup.quit() // the stop waits for a replacement under way
	if l := a.host.fxlog; l != nil {
		l.LogEvent(&fxevent.Stopping{Signal: sig.Signal})
	}
	// Any signal from here on is a second one.
	force := a.forceOnSignal()
	defer signal.Stop(force)
	stopCtx, cancel := a.phase(a.fx.StopTimeout())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- a.fx.Stop(stopCtx) }()

	var err error
	select {
	case err = <-stopped:
	case s := <-force:
		a.forceExit(s)
	}
	code := sig.ExitCode
	if failure := a.host.failed(); failure != nil {
		a.log.Error("app failed", zap.Error(failure))
		code = max(code, 1)
	}
	if err != nil {
		a.log.Error("app stop failed", zap.Error(err))
		code = max(code, 1)
	}
	if c := a.host.child; c != nil {
		c.stopped(err)
	}
	return code
}

// phase returns the context of a start or stop: bounded by fx's timeout,
// as under fx's own Run, except in a child, whose parent owns its
// deadlines and kills it when they pass.
func (a *App) phase(timeout time.Duration) (context.Context, context.CancelFunc) {
	if a.host.child != nil {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), timeout)
}

// forceOnSignal returns a channel of the signals that force an exit.
func (a *App) forceOnSignal() chan os.Signal {
	force := make(chan os.Signal, 1)
	signal.Notify(force, syscall.SIGINT, syscall.SIGTERM)
	return force
}

// forceExit ends the process at once on a second signal.
func (a *App) forceExit(s os.Signal) {
	a.log.Error("second signal: exiting without waiting", zap.Stringer("signal", s), zap.String("still_stopping", a.host.busy()))
	os.Exit(1)
}

// awaitStop waits for a reason to stop: a signal, a shutdown, or, in a
// child process, the parent's stop.
func (a *App) awaitStop(wait <-chan fx.ShutdownSignal) fx.ShutdownSignal {
	var parent chan struct{}
	if c := a.host.child; c != nil {
		parent = c.stopReq
	}
	select {
	case sig := <-wait:
		if c := a.host.child; c != nil && sig.Signal != nil {
			// A signal sent to this child directly, which fx saw first:
			// the stop's report says why, as when the child's own watch
			// sees it first.
			c.signaled(sig.Signal)
		}
		return sig
	case <-parent:
		return fx.ShutdownSignal{}
	}
}

func exitCode(err error) int {
	if err != nil {
		return 1
	}
	return 0
}
