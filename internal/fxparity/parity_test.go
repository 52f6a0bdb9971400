package fxparity_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// variant builds an fx app from a program's options.
type variant struct {
	name   string
	hosted bool
	build  func(opts ...fx.Option) []fx.Option
}

var (
	plain     = variant{"fx", false, func(opts ...fx.Option) []fx.Option { return opts }}
	withHost  = variant{"fx+app.Module", true, hosted}
	variants  = []variant{plain, withHost}
	quietHost = app.Logger(zap.NewNop())
)

func hosted(opts ...fx.Option) []fx.Option {
	return []fx.Option{app.Module(append([]fx.Option{quietHost}, opts...)...)}
}

// hostedWithLogs is hosted, logging to the program's own logger if it has one.
func hostedWithLogs(opts ...fx.Option) []fx.Option { return []fx.Option{app.Module(opts...)} }

// trace records what a program does, in order.
type trace struct {
	mu    sync.Mutex
	steps []string
}

func (t *trace) add(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, fmt.Sprintf(format, args...))
}

func (t *trace) get() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.steps...)
}

// events is an fxevent.Logger that keeps a line per event, leaving out
// hostfx's own additions.
type events struct{ trace }

func (l *events) LogEvent(e fxevent.Event) {
	if line, ok := describe(e); ok {
		l.add("%s", line)
	}
}

func (l *events) option() fx.Option {
	return fx.WithLogger(func() fxevent.Logger { return l })
}

// hostfxNames mark hostfx's additions in fx's events: its packages, the
// constructors it makes, the values it supplies, and a service's own
// constructor, which fx provides with the service's name tag.
var hostfxNames = []string{
	"github.com/hostfx/hostfx/app.", "github.com/hostfx/hostfx/modules/",
	"reflect.makeFuncStub", "stub(app.", `hostfx.service/`,
}

func ours(names ...string) bool {
	for _, n := range names {
		for _, p := range hostfxNames {
			if strings.Contains(n, p) {
				return true
			}
		}
	}
	return false
}

// fxOwn reports a constructor of fx's own types, such as fx.Lifecycle:
// hostfx needs them before any of the program's invokes runs, so they are
// built earlier, which changes nothing the program sees.
func fxOwn(name string) bool { return strings.HasPrefix(name, "go.uber.org/fx.") }

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// describe renders an event with the fields a program can observe, and
// reports false for hostfx's own: those of its functions, and those in a
// service's own module ("hostfx:<name>").
func describe(e fxevent.Event) (string, bool) {
	if m := reflect.ValueOf(e).Elem().FieldByName("ModuleName"); m.IsValid() && strings.HasPrefix(m.String(), "hostfx:") {
		return "", false
	}
	switch e := e.(type) {
	case *fxevent.OnStartExecuting:
		return "OnStartExecuting " + e.FunctionName + " from " + e.CallerName, !ours(e.FunctionName, e.CallerName)
	case *fxevent.OnStartExecuted:
		return "OnStartExecuted " + e.FunctionName + " from " + e.CallerName + " " + errText(e.Err), !ours(e.FunctionName, e.CallerName)
	case *fxevent.OnStopExecuting:
		return "OnStopExecuting " + e.FunctionName + " from " + e.CallerName, !ours(e.FunctionName, e.CallerName)
	case *fxevent.OnStopExecuted:
		return "OnStopExecuted " + e.FunctionName + " from " + e.CallerName + " " + errText(e.Err), !ours(e.FunctionName, e.CallerName)
	case *fxevent.Supplied:
		return fmt.Sprintf("Supplied %s in %q %s", e.TypeName, e.ModuleName, errText(e.Err)), !ours(e.StackTrace...)
	case *fxevent.Provided:
		return fmt.Sprintf("Provided %s %v in %q private=%v %s", e.ConstructorName, e.OutputTypeNames, e.ModuleName, e.Private, errText(e.Err)),
			!ours(e.ConstructorName)
	case *fxevent.Replaced:
		return fmt.Sprintf("Replaced %v in %q %s", e.OutputTypeNames, e.ModuleName, errText(e.Err)), !ours(e.StackTrace...)
	case *fxevent.Decorated:
		return fmt.Sprintf("Decorated %s %v in %q %s", e.DecoratorName, e.OutputTypeNames, e.ModuleName, errText(e.Err)), !ours(e.DecoratorName)
	case *fxevent.BeforeRun:
		return fmt.Sprintf("BeforeRun %s %s in %q", e.Kind, e.Name, e.ModuleName), !ours(e.Name) && !fxOwn(e.Name)
	case *fxevent.Run:
		return fmt.Sprintf("Run %s %s in %q %s", e.Kind, e.Name, e.ModuleName, errText(e.Err)), !ours(e.Name) && !fxOwn(e.Name)
	case *fxevent.Invoking:
		return fmt.Sprintf("Invoking %s in %q", e.FunctionName, e.ModuleName), !ours(e.FunctionName)
	case *fxevent.Invoked:
		return fmt.Sprintf("Invoked %s in %q %s", e.FunctionName, e.ModuleName, errText(e.Err)), !ours(e.FunctionName)
	case *fxevent.Stopping:
		return fmt.Sprintf("Stopping %v", e.Signal), true
	case *fxevent.Stopped:
		return "Stopped " + errText(e.Err), true
	case *fxevent.RollingBack:
		return "RollingBack " + errText(e.StartErr), true
	case *fxevent.RolledBack:
		return "RolledBack " + errText(e.Err), true
	case *fxevent.Started:
		return "Started " + errText(e.Err), true
	case *fxevent.LoggerInitialized:
		return "LoggerInitialized " + errText(e.Err), !ours(e.ConstructorName)
	}
	return reflect.TypeOf(e).String(), true
}

// component appends a hook that records its name, as a service's start
// and stop would.
type component struct{ name string }

func hooked(tr *trace, name string, lc fx.Lifecycle) *component {
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error { tr.add("start %s", name); return nil },
		OnStop:  func(context.Context) error { tr.add("stop %s", name); return nil },
	})
	return &component{name}
}

type (
	compA struct{ *component }
	compB struct{ *component }
	compR struct{ *component }
)

// loopService records its starts and stops on the main event loop.
type loopService struct {
	tr   *trace
	name string
}

func (s *loopService) RunAsync(_ context.Context, loop modes.Loop) error {
	s.tr.add("start %s", s.name)
	loop.OnClose(func() { s.tr.add("stop %s", s.name) })
	return nil
}

type (
	serviceA struct{ *loopService }
	serviceB struct{ *loopService }
)

// Two main-loop services in one fx.Module, with a root component that the
// second depends on: fx starts A, then R (built for B), then B; services
// must keep that order, and stop in its reverse.
func TestHookOrderAcrossModules(t *testing.T) {
	var got [][]string
	for _, v := range variants {
		tr := &trace{}
		opts := []fx.Option{fx.Provide(func(lc fx.Lifecycle) *compR { return &compR{hooked(tr, "R", lc)} })}
		if v.hosted {
			opts = append(opts, fx.Module("m",
				app.Service("a", func() *serviceA { return &serviceA{&loopService{tr, "A"}} }, modes.MainEventLoopAsync),
				app.Service("b", func(*compR) *serviceB { return &serviceB{&loopService{tr, "B"}} }, modes.MainEventLoopAsync),
			))
		} else {
			opts = append(opts, fx.Module("m",
				fx.Provide(func(lc fx.Lifecycle) *compA { return &compA{hooked(tr, "A", lc)} }),
				fx.Provide(func(_ *compR, lc fx.Lifecycle) *compB { return &compB{hooked(tr, "B", lc)} }),
				fx.Invoke(func(*compA) {}, func(*compB) {}),
			))
		}
		a := fxtest.New(t, v.build(append(opts, fx.NopLogger)...)...)
		a.RequireStart().RequireStop()
		got = append(got, tr.get())
	}
	assert.Equal(t, []string{"start A", "start R", "start B", "stop B", "stop R", "stop A"}, got[0])
	assert.Equal(t, got[0], got[1], "hosted order differs from fx's")
}

// fx lets an app be started again after a stop, and fxtest does so.
func TestStartAfterStop(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			tr := &trace{}
			opts := []fx.Option{
				fx.Provide(func(lc fx.Lifecycle) *compR { return &compR{hooked(tr, "R", lc)} }),
				fx.Invoke(func(*compR) {}),
				fx.NopLogger,
			}
			if v.hosted {
				opts = append(opts, app.Service("a", func(*compR) *serviceA { return &serviceA{&loopService{tr, "A"}} }, modes.MainEventLoopAsync))
			}
			a := fx.New(v.build(opts...)...)
			require.NoError(t, a.Err())
			for range 2 {
				require.NoError(t, a.Start(t.Context()))
				require.NoError(t, a.Stop(t.Context()))
			}
			want := []string{"start R", "stop R", "start R", "stop R"}
			if v.hosted {
				want = []string{"start R", "start A", "stop A", "stop R", "start R", "start A", "stop A", "stop R"}
			}
			assert.Equal(t, want, tr.get())
		})
	}
}

// countingLifecycle is a user's decoration of fx.Lifecycle.
type countingLifecycle struct {
	fx.Lifecycle
	n *int
}

func (c countingLifecycle) Append(h fx.Hook) { *c.n++; c.Lifecycle.Append(h) }

func TestDecorateLifecycle(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			n := 0
			tr := &trace{}
			a := fx.New(v.build(
				fx.Decorate(func(lc fx.Lifecycle) fx.Lifecycle { return countingLifecycle{lc, &n} }),
				fx.Provide(func(lc fx.Lifecycle) *compR { return &compR{hooked(tr, "R", lc)} }),
				fx.Invoke(func(*compR) {}),
				fx.NopLogger,
			)...)
			require.NoError(t, a.Err())
			assert.GreaterOrEqual(t, n, 1, "the user's component appended through the decorated lifecycle")
			require.NoError(t, a.Start(t.Context()))
			require.NoError(t, a.Stop(t.Context()))
			assert.Equal(t, []string{"start R", "stop R"}, tr.get())
		})
	}
}

type (
	plainValue  struct{ v string }
	privValue   struct{ v string }
	replaced    struct{ v string }
	decorated   struct{ v string }
	groupMember struct{ v string }
)

// program is an fx program that uses most of what fx offers.
func program(tr *trace) []fx.Option {
	return []fx.Option{
		fx.Supply(&plainValue{"supplied"}),
		fx.Supply(&replaced{"original"}),
		fx.Replace(&replaced{"replacement"}),
		fx.Provide(func() *decorated { return &decorated{"plain"} }),
		fx.Decorate(func(d *decorated) *decorated { return &decorated{d.v + "+decorated"} }),
		fx.Provide(
			fx.Annotate(func() *groupMember { return &groupMember{"one"} }, fx.ResultTags(`group:"members"`)),
			fx.Annotate(func() *groupMember { return &groupMember{"two"} }, fx.ResultTags(`group:"members"`)),
		),
		fx.Module("inner",
			fx.Provide(func() *privValue { return &privValue{"private"} }, fx.Private),
			fx.Invoke(func(p *privValue, lc fx.Lifecycle) {
				tr.add("inner sees %s", p.v)
				lc.Append(fx.StartStopHook(func() { tr.add("start inner") }, func() { tr.add("stop inner") }))
			}),
		),
		fx.Invoke(fx.Annotate(func(p *plainValue, r *replaced, d *decorated, members []*groupMember) {
			tr.add("root sees %s %s %s %d members", p.v, r.v, d.v, len(members))
		}, fx.ParamTags(``, ``, ``, `group:"members"`))),
		fx.Invoke(func(lc fx.Lifecycle) {
			lc.Append(fx.StartStopHook(func() { tr.add("start root") }, func() { tr.add("stop root") }))
		}),
	}
}

// The same program, with hostfx added and with a service added, does the
// same things and fx reports the same events, hostfx's own apart.
func TestSameProgramSameEvents(t *testing.T) {
	type outcome struct{ steps, events []string }
	run := func(t *testing.T, host bool, opts ...fx.Option) outcome {
		tr, log := &trace{}, &events{}
		all := append(append(program(tr), opts...), log.option())
		if host {
			all = withHost.build(all...)
		}
		a := fx.New(all...)
		require.NoError(t, a.Err())
		require.NoError(t, a.Start(t.Context()))
		require.NoError(t, a.Stop(t.Context()))
		return outcome{tr.get(), log.get()}
	}
	want := run(t, false)
	assert.Contains(t, want.steps, "root sees supplied replacement plain+decorated 2 members")
	assert.Contains(t, want.steps, "inner sees private")

	got := run(t, true)
	assert.Equal(t, want.steps, got.steps)
	assert.Equal(t, want.events, got.events)

	// A service adds its own steps and nothing else.
	svc := &trace{}
	withService := run(t, true,
		app.Service("a", func() *serviceA { return &serviceA{&loopService{svc, "A"}} }, modes.MainEventLoopAsync))
	assert.Equal(t, want.steps, withService.steps)
	assert.Equal(t, []string{"start A", "stop A"}, svc.get())
	assert.Equal(t, want.events, withService.events)
}

// The same mistakes give the same errors.
func TestSameErrors(t *testing.T) {
	type missing struct{}
	tests := []struct {
		name string
		give func() []fx.Option
	}{
		{"missing dependency", func() []fx.Option {
			return []fx.Option{fx.Invoke(func(*missing) {})}
		}},
		{"provided twice", func() []fx.Option {
			return []fx.Option{fx.Provide(func() *plainValue { return nil }), fx.Provide(func() *plainValue { return nil })}
		}},
		{"private outside its module", func() []fx.Option {
			return []fx.Option{fx.Module("m", fx.Provide(func() *privValue { return nil }, fx.Private)), fx.Invoke(func(*privValue) {})}
		}},
		{"invoke fails", func() []fx.Option {
			return []fx.Option{fx.Invoke(func() error { return errors.New("no") })}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One set of options for all, so fx's stacks name the same lines.
			opts := append(tt.give(), fx.NopLogger)
			want := fx.New(opts...).Err()
			require.Error(t, want)
			got := fx.New(withHost.build(opts...)...).Err()
			require.Error(t, got)
			assert.Equal(t, want.Error(), got.Error())
			viaNew := app.New(append(opts, quietHost)...).Err()
			require.Error(t, viaNew)
			assert.Equal(t, want.Error(), viaNew.Error())
		})
	}
}

// A shutdown's exit code reaches Wait the same way.
func TestShutdownerExitCode(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var sd fx.Shutdowner
			a := fxtest.New(t, v.build(fx.Populate(&sd), fx.NopLogger)...)
			a.RequireStart()
			require.NoError(t, sd.Shutdown(fx.ExitCode(3)))
			sig := <-a.Wait()
			assert.Equal(t, 3, sig.ExitCode)
			a.RequireStop()
		})
	}
}

// A start hook that fails rolls back the same way: the same events,
// the same error.
func TestStartFailureRollsBack(t *testing.T) {
	var got [][]string
	var errs []string
	for _, v := range variants {
		tr, log := &trace{}, &events{}
		a := fx.New(v.build(
			fx.Provide(func(lc fx.Lifecycle) *compR { return &compR{hooked(tr, "R", lc)} }),
			fx.Invoke(func(_ *compR, lc fx.Lifecycle) {
				lc.Append(fx.StartHook(func() error { return errors.New("cannot start") }))
			}),
			log.option(),
		)...)
		require.NoError(t, a.Err())
		err := a.Start(t.Context())
		require.Error(t, err)
		errs = append(errs, err.Error())
		got = append(got, append(tr.get(), log.get()...))
	}
	assert.Equal(t, errs[0], errs[1])
	assert.Equal(t, got[0], got[1])
}

// loggingService logs once from its constructor's logger.
type loggingService struct{ log *zap.Logger }

func (s *loggingService) Run(ctx context.Context) error {
	s.log.Info("running")
	<-ctx.Done()
	return nil
}

// A program with its own *zap.Logger, which fx's own logger uses too,
// keeps it: hostfx provides none of its own, logs to the program's, and
// gives each service one that names it.
func TestProgramsOwnLogger(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	opts := []fx.Option{
		fx.Supply(zap.New(core)),
		fx.WithLogger(func(l *zap.Logger) fxevent.Logger { return &fxevent.ZapLogger{Logger: l} }),
		fx.Invoke(func(l *zap.Logger) { l.Info("the program's own") }),
	}
	for _, v := range []variant{plain, {"fx+app.Module", true, hostedWithLogs}} {
		t.Run(v.name, func(t *testing.T) {
			all := opts
			if v.hosted {
				all = append(all, app.Service("svc", func(l *zap.Logger) *loggingService { return &loggingService{l} }, modes.SeparateThread))
			}
			a := fx.New(v.build(all...)...)
			require.NoError(t, a.Err())
			require.NoError(t, a.Start(t.Context()))
			require.NoError(t, a.Stop(t.Context()))
			assert.Positive(t, logs.FilterMessage("the program's own").Len())
		})
	}
	require.Positive(t, logs.FilterMessage("running").Len(), "the service logged to the program's logger")
	assert.Equal(t, "svc", logs.FilterMessage("running").All()[0].ContextMap()["service"])
}
