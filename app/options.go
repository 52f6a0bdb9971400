package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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

// LogLevel sets the level of the app's logger; the default is info. The
// configuration's log.level key overrides it (see ServiceConfig), and the
// HOSTFX_LOG_LEVEL variable ([EnvLogLevel]) overrides both for the logger
// hostfx builds. A logger given with Logger, or the program's own, can
// only be made quieter: a level below its own is an error, since a zap
// logger cannot log what it was built to drop.
func LogLevel(level zapcore.Level) fx.Option {
	at := fmt.Sprintf("app.LogLevel(%v) at %s", level, caller(2))
	if level < zapcore.DebugLevel || level > zapcore.FatalLevel {
		return fx.Error(fmt.Errorf("%s: %s", at, wantLevel))
	}
	return fx.Supply(fx.Annotated{Group: logLevelGroup, Target: &logLevel{level: level, from: at}})
}

// wantLevel says which levels LogLevel takes.
const wantLevel = "want debug, info, warn, error, dpanic, panic or fatal"

const logLevelGroup = "hostfx.loglevel"

// logLevel is a level set with LogLevel or by the configuration, and what
// set it, for messages.
type logLevel struct {
	level zapcore.Level
	from  string
}

// levelConfig is a ServiceConfig that sets the log level too, as the
// configuration module's does.
type levelConfig interface {
	LogLevel() (level zapcore.Level, source string, ok bool)
}

// hostLog is the logger hostfx logs to: the one given with Logger, else
// the program's own *zap.Logger, if it provides one, else the default, at
// the level LogLevel or the configuration sets. hostfx provides no
// *zap.Logger itself, so an app that has its own keeps it; a service's
// constructor gets one that names the service.
type hostLog struct{ *zap.Logger }

type hostLogParams struct {
	fx.In
	Given   givenLogger   `optional:"true"`
	Program *zap.Logger   `optional:"true"`
	Levels  []*logLevel   `group:"hostfx.loglevel"`
	Config  ServiceConfig `optional:"true"`
}

func newHostLog(p hostLogParams) (hostLog, error) {
	level, err := p.level()
	if err != nil {
		return hostLog{}, err
	}
	switch {
	case p.Given.Logger != nil:
		log, err := quieter(p.Given.Logger, "the logger given with app.Logger", level)
		return hostLog{log}, err
	case p.Program != nil:
		log, err := quieter(p.Program, "the program's *zap.Logger", level)
		return hostLog{log}, err
	}
	at := zapcore.InfoLevel
	if level != nil {
		at = level.level
	}
	log, err := newLogger(at)
	return hostLog{log}, err
}

// level is the level the configuration sets, else the one LogLevel sets,
// else nil.
func (p hostLogParams) level() (*logLevel, error) {
	if c, ok := p.Config.(levelConfig); ok {
		if level, source, set := c.LogLevel(); set {
			return &logLevel{level: level, from: source}, nil
		}
	}
	switch len(p.Levels) {
	case 0:
		return nil, nil
	case 1:
		return p.Levels[0], nil
	}
	froms := make([]string, len(p.Levels))
	for i, l := range p.Levels {
		froms[i] = l.from
	}
	slices.Sort(froms) // fx hands a group over in random order
	return nil, fmt.Errorf("app.LogLevel is given %d times: %s; keep one", len(froms), strings.Join(froms, ", "))
}

// quieter raises the level of a logger the app did not build. It cannot
// lower it: a core drops what is below its own level before anything
// above it sees the entry.
func quieter(log *zap.Logger, what string, level *logLevel) (*zap.Logger, error) {
	if level == nil {
		return log, nil
	}
	own := zapcore.LevelOf(log.Core())
	switch {
	case own == zapcore.InvalidLevel: // it logs nothing at any level
		return log, nil
	case level.level < own:
		return nil, fmt.Errorf("%s: %s logs at %v and above, and a zap logger cannot log more than it was built to: "+
			"build it at %v, or leave the level to it", level.from, what, own, level.level)
	}
	return log.WithOptions(zap.IncreaseLevel(level.level)), nil
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
//
// A ServiceConfig that also has the method
//
//	LogLevel() (level zapcore.Level, source string, ok bool)
//
// sets the level of the app's logger when ok is true, over LogLevel; the
// configuration module's does so from its log.level key.
type ServiceConfig interface {
	ServiceOptions(name string) (modes.ExecutionMode, []lifecycle.Option, map[string]string)
	// Services names the services the configuration has a section for;
	// the app rejects a section for a service it does not register.
	Services() []string
	// BindService decodes the named service's own part of its section
	// into target, a pointer to a struct; see Identity.Config.
	BindService(name string, target any) error
}
