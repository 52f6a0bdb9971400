package app

import (
	"fmt"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Module is the app as an fx.Option, for fx.New or fxtest.New: the
// framework (the service host, which logs to Logger's logger, else the
// program's own *zap.Logger, else the default) and opts, with every
// Service in them, at any depth of fx.Options and fx.Module, turned into
// its part of the graph. New is fx.New of Module, with hostfx's logging.
//
// The framework is a plain set of options rather than an fx.Module: a
// module costs a scope of its own, which is a noticeable part of building
// a small app, and so of starting every child process.
func Module(opts ...fx.Option) fx.Option {
	graph, specs, err := plan(opts)
	if err != nil {
		return fx.Error(err)
	}
	return fx.Options(
		framework,
		fx.Supply(specs),
		// Building the host checks every registration, before any service
		// is constructed, and reports all the mistakes at once.
		fx.Invoke(func(*host) {}),
		fx.Options(graph...),
	)
}

// framework is Module without its invoke: New has one of its own.
var framework = fx.Options(
	fx.Provide(newHost, newHostLog, newSupervisor),
)

type serviceDefaults struct {
	seq  int64
	opts []lifecycle.Option
}

// ServiceDefaults sets lifecycle options for every service of the app; a
// service's own options override them. When given more than once, later
// calls override earlier ones.
func ServiceDefaults(opts ...lifecycle.Option) fx.Option {
	d := &serviceDefaults{seq: registrations.Add(1), opts: opts}
	return fx.Provide(fx.Annotated{Group: defaultsGroup, Target: func() *serviceDefaults { return d }})
}

// Observe adds an observer of every lifecycle event, next to the logger.
func Observe(o lifecycle.Observer) fx.Option {
	if o == nil {
		return fx.Error(fmt.Errorf("app.Observe at %s: the observer is nil; pass a func(lifecycle.Event)", caller(2)))
	}
	return fx.Supply(fx.Annotated{Group: observerGroup, Target: o})
}

// Logger makes the app and its services log to log instead of the default
// logger.
func Logger(log *zap.Logger) fx.Option {
	if log == nil {
		return fx.Error(fmt.Errorf("app.Logger at %s: the logger is nil; pass a *zap.Logger, such as zap.NewNop() for none", caller(2)))
	}
	return fx.Supply(givenLogger{log})
}

// givenLogger is the logger given with Logger.
type givenLogger struct{ *zap.Logger }

// hostLog is the logger hostfx logs to: the one given with Logger, else
// the program's own *zap.Logger, if it provides one, else the default.
// hostfx provides no *zap.Logger itself, so an app that has its own keeps
// it; a service's constructor gets one that names the service.
type hostLog struct{ *zap.Logger }

type hostLogParams struct {
	fx.In
	Given   givenLogger `optional:"true"`
	Program *zap.Logger `optional:"true"`
}

func newHostLog(p hostLogParams) (hostLog, error) {
	switch {
	case p.Given.Logger != nil:
		return hostLog{p.Given.Logger}, nil
	case p.Program != nil:
		return hostLog{p.Program}, nil
	}
	log, err := NewLogger()
	return hostLog{log}, err
}

type childHeartbeat time.Duration

// ChildHeartbeat sets how often the app pings each process-mode child; a
// child that misses three pings in a row is hung and is killed, with its
// goroutine dump in the crash report. The default is one second.
func ChildHeartbeat(interval time.Duration) fx.Option {
	if interval <= 0 {
		return fx.Error(fmt.Errorf("app.ChildHeartbeat(%v) at %s: want a positive interval, such as time.Second", interval, caller(2)))
	}
	return fx.Supply(childHeartbeat(interval))
}

// ServiceConfig overrides, per service, what code registered: the
// configuration module provides one, so a services.<name> section wins over
// code. ServiceOptions returns the mode the configuration sets (zero for
// none), the lifecycle options it sets, and where each setting came from,
// keyed by setting name.
type ServiceConfig interface {
	ServiceOptions(name string) (modes.ExecutionMode, []lifecycle.Option, map[string]string)
	// Services names the services the configuration has a section for;
	// the app rejects a section for a service it does not register.
	Services() []string
}
