package config_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

// Greeting is the app section the worker reads.
type Greeting struct {
	Text string `config:"text"`
}

// worker logs its greeting and runs until stopped, in any mode.
type worker struct {
	log      *zap.Logger
	greeting Greeting
}

func newWorker(log *zap.Logger, g Greeting) *worker { return &worker{log: log, greeting: g} }

func (w *worker) Run(ctx context.Context) error {
	w.log.Info("greeting", zap.String("text", w.greeting.Text), zap.Int("worker_pid", os.Getpid()))
	<-ctx.Done()
	return nil
}

func (w *worker) RunAsync(context.Context, modes.Loop) error {
	w.log.Info("greeting", zap.String("text", w.greeting.Text), zap.Int("worker_pid", os.Getpid()))
	return nil
}

// events collects lifecycle events.
type events struct {
	mu   sync.Mutex
	list []lifecycle.Event
}

func (e *events) observe(ev lifecycle.Event) { e.mu.Lock(); e.list = append(e.list, ev); e.mu.Unlock() }

func first[E lifecycle.Event](t *testing.T, e *events) E {
	t.Helper()
	var found E
	require.Eventually(t, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ev := range e.list {
			if ev, ok := ev.(E); ok {
				found = ev
				return true
			}
		}
		return false
	}, time.Minute, time.Millisecond)
	return found
}

func TestServiceSettingsFromConfigReachTheExecutor(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "services:\n  worker:\n    mode: SEPARATE_THREAD_ASYNC\n    restart: IMMEDIATE\n    policy: always\n" +
		"    intensity:\n      max_restarts: 9\napp:\n  text: hi\n"})
	t.Setenv("CFG_SERVICES__WORKER__STOP_TIMEOUT", "3s")
	ev := &events{}
	fxapp := fxtest.New(t, app.Module(app.Logger(zap.NewNop()), fx.NopLogger, app.Observe(ev.observe),
		config.Module(formats, config.File("config.yaml"), config.Env("CFG")),
		config.Provide[Greeting]("app"),
		app.Service("worker", newWorker, modes.MainEventLoopAsync, lifecycle.StopTimeout(time.Second)),
	))
	fxapp.RequireStart()
	starting := first[*lifecycle.Starting](t, ev)
	assert.Equal(t, modes.SeparateThreadAsync, starting.Mode, "config wins over code")
	assert.Equal(t, lifecycle.Immediate(), starting.Settings.Restart)
	assert.Equal(t, lifecycle.Always, starting.Settings.Policy)
	assert.Equal(t, 9, starting.Settings.MaxRestarts)
	assert.Equal(t, time.Minute, starting.Settings.Window, "an unset window keeps its default")
	assert.Equal(t, 3*time.Second, starting.Settings.StopTimeout, "the environment wins over code")
	assert.Equal(t, "config.yaml:3", starting.Sources["mode"])
	assert.Equal(t, "env CFG_SERVICES__WORKER__STOP_TIMEOUT", starting.Sources["stop_timeout"])
	started := first[*lifecycle.Started](t, ev)
	assert.Equal(t, modes.SeparateThreadAsync, started.Mode)
	assert.NotEqual(t, started.PID, started.TID, "a thread of its own, not the main thread")
	fxapp.RequireStop()
}

// A section moves a service into a child process with no change to the
// code that registers it: the app reads its configuration first.
func TestConfigurationMovesAServiceIntoAChild(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "services:\n  worker:\n    mode: SEPARATE_PROCESS\napp:\n  text: hi\n"})
	ev := &events{}
	fxapp := fxtest.New(t, app.Module(app.Test(t), app.Logger(zap.NewNop()), fx.NopLogger, app.Observe(ev.observe),
		config.Module(formats, config.File("config.yaml")),
		config.Provide[Greeting]("app"),
		app.Service("worker", newWorker, modes.SeparateThread),
	))
	fxapp.RequireStart()
	started := first[*lifecycle.Started](t, ev)
	assert.Equal(t, modes.SeparateProcess, started.Mode)
	assert.NotEqual(t, os.Getpid(), started.PID, "the worker runs in a child")
	fxapp.RequireStop()
}

func TestEnvironmentOverrideReachesAChildProcess(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "services:\n  worker:\n    mode: SEPARATE_THREAD\napp:\n  text: from the file\n"})
	t.Setenv("CFG_APP__TEXT", "from the environment")
	t.Setenv("CFG_SERVICES__WORKER__MODE", "separate-process") // one variable moves it into a child
	t.Setenv("CFG_SERVICES__WORKER__RESTART", "fixed-backoff")
	cfg, err := config.New(formats, config.File("config.yaml"), config.Env("CFG"))
	require.NoError(t, err)

	core, logs := observer.New(zapcore.InfoLevel)
	ev := &events{}
	opts := []fx.Option{app.Test(t), fx.NopLogger, app.Observe(ev.observe),
		config.Supply(cfg), config.Provide[Greeting]("app"),
		app.Service("worker", newWorker, modes.SeparateThread),
	}
	if proc.Current() == nil { // the parent; a child logs to stderr for the parent to relay
		opts = append(opts, app.Logger(zap.New(core)))
	}
	fxapp := fxtest.New(t, app.Module(opts...))
	fxapp.RequireStart()
	starting := first[*lifecycle.Starting](t, ev)
	assert.Equal(t, lifecycle.FixedBackoff(5*time.Second), starting.Settings.Restart, "the parent restarts children as configured")
	started := first[*lifecycle.Started](t, ev)
	assert.Equal(t, modes.SeparateProcess, started.Mode)
	assert.NotEqual(t, os.Getpid(), started.PID)
	require.Eventually(t, func() bool { return logs.FilterMessage("greeting").Len() == 1 }, time.Minute, time.Millisecond)
	fields := logs.FilterMessage("greeting").All()[0].ContextMap()
	assert.Equal(t, "from the environment", fields["text"])
	assert.EqualValues(t, started.PID, fields["worker_pid"], "the child read the same configuration")
	fxapp.RequireStop()
}

// The app's logger depends on the configuration, for log.level; a
// configuration that fails to load must still leave the app a logger to
// report it with, and the error must be the configuration's.
func TestBrokenConfigurationIsReportedPlainly(t *testing.T) {
	inDir(t, nil)
	a := app.New(app.Logger(zap.NewNop()),
		config.Module(config.File("missing.json")),
		app.Service("worker", newWorker, modes.SeparateThread),
	)
	err := a.Err()
	require.ErrorContains(t, err, "config: missing.json: file not found")
	assert.NotContains(t, err.Error(), "fxevent.Logger")
}
