package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

type onlyRun struct{}

func (*onlyRun) Run(context.Context) error { return nil }

type onlyAsync struct{}

func (*onlyAsync) RunAsync(context.Context, modes.Loop) error { return nil }

func TestServiceValidation(t *testing.T) {
	var nilCtor func() *onlyRun
	tests := []struct {
		name string
		give func() (fx.Option, string)
		want []string
	}{
		{"empty name", func() (fx.Option, string) {
			return app.Service("", leaf[[1]byte], modes.SeparateThread), here()
		}, []string{"app.Service at", "the name is empty"}},
		{"nil constructor", func() (fx.Option, string) {
			return app.Service("db", nil, modes.SeparateThread), here()
		}, []string{`service "db" (SEPARATE_THREAD)`, "the constructor is nil"}},
		{"nil typed constructor", func() (fx.Option, string) {
			return app.Service("db", nilCtor, modes.SeparateThread), here()
		}, []string{`service "db" (SEPARATE_THREAD)`, "is a nil func() *app_test.onlyRun"}},
		{"not a function", func() (fx.Option, string) {
			return app.Service("db", 42, modes.SeparateThread), here()
		}, []string{`service "db"`, "the constructor is a int, not a function"}},
		{"two services in the results", func() (fx.Option, string) {
			return app.Service("db", func() (*onlyRun, *onlyRun) { return nil, nil }, modes.SeparateThread), here()
		}, []string{`service "db"`, "returns 2 results with that method; want one result with Run(context.Context) error"}},
		{"no results", func() (fx.Option, string) {
			return app.Service("db", func() {}, modes.SeparateThread), here()
		}, []string{`service "db"`, "returns nothing"}},
		{"missing RunAsync", func() (fx.Option, string) {
			return app.Service("ui", func() *onlyRun { return nil }, modes.MainEventLoopAsync), here()
		}, []string{`service "ui" (MAIN_EVENT_LOOP_ASYNC)`, "returns *app_test.onlyRun, which has no such method; want one result with RunAsync(context.Context, modes.Loop) error"}},
		{"missing Run", func() (fx.Option, string) {
			return app.Service("cpu", func() *onlyAsync { return nil }, modes.SeparateThread), here()
		}, []string{`service "cpu" (SEPARATE_THREAD)`, "returns *app_test.onlyAsync, which has no such method; want one result with Run(context.Context) error"}},
		{"unknown mode", func() (fx.Option, string) {
			return app.Service("x", leaf[[1]byte], modes.ExecutionMode(9)), here()
		}, []string{`service "x" (ExecutionMode(9))`, "unknown execution mode 9"}},
		{"process mode without Run", func() (fx.Option, string) {
			return app.Service("x", func() *onlyAsync { return nil }, modes.SeparateProcess), here()
		}, []string{`service "x" (SEPARATE_PROCESS)`, "returns *app_test.onlyAsync, which has no such method; want one result with Run(context.Context) error"}},
		{"control character in the name", func() (fx.Option, string) {
			return app.Service("db\x00", leaf[[1]byte], modes.SeparateThread), here()
		}, []string{`app.Service("db\x00")`, "the control character U+0000"}},
		{"bad timeout", func() (fx.Option, string) {
			return app.Service("x", leaf[[1]byte], modes.SeparateThread, lifecycle.StopTimeout(-1)), here()
		}, []string{`service "x"`, "stop timeout -1ns: want a positive duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, at := tt.give()
			a := app.New(quiet(), fx.NopLogger, opt)
			err := a.Err()
			require.Error(t, err)
			assert.ErrorIs(t, err, app.ErrInvalidService)
			for _, want := range append(tt.want, at) {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	tests := []struct {
		name string
		give func() (fx.Option, string)
		want string
	}{
		{"nil logger", func() (fx.Option, string) { return app.Logger(nil), here() }, "app.Logger at %s: the logger is nil"},
		{"nil observer", func() (fx.Option, string) { return app.Observe(nil), here() }, "app.Observe at %s: the observer is nil"},
		{"zero heartbeat", func() (fx.Option, string) { return app.ChildHeartbeat(0), here() }, "app.ChildHeartbeat(0s) at %s: want a positive interval"},
		{"negative heartbeat", func() (fx.Option, string) { return app.ChildHeartbeat(-time.Second), here() }, "app.ChildHeartbeat(-1s) at %s: want a positive interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, at := tt.give()
			err := app.New(fx.NopLogger, opt).Err()
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf(tt.want, at))
		})
	}
}

// A services.<name> section for a service the app does not register is a
// mistake, reported when the app is built.
func TestUnknownServiceSection(t *testing.T) {
	section := func(name string) config.Option {
		return config.Args([]string{"--services." + name + ".mode=SEPARATE_THREAD"})
	}
	cfg, err := config.New(section("wroker"))
	require.NoError(t, err)
	a := app.New(quiet(), fx.NopLogger, config.Supply(cfg),
		app.Service("worker", leaf[[1]byte], modes.SeparateThread))
	require.Error(t, a.Err())
	assert.ErrorIs(t, a.Err(), app.ErrInvalidService)
	assert.Contains(t, a.Err().Error(), `configuration section services.wroker: no service is called "wroker"; the services are worker`)

	cfg, err = config.New(section("worker"))
	require.NoError(t, err)
	require.NoError(t, app.New(quiet(), fx.NopLogger, config.Supply(cfg),
		app.Service("worker", leaf[[1]byte], modes.SeparateThread)).Err())
}

func TestDuplicateNames(t *testing.T) {
	original, first := app.Service("db", leaf[[1]byte], modes.SeparateThread), here()
	duplicate, second := app.Service("db", leaf[[2]byte], modes.SeparateThread), here()
	err := app.New(quiet(), fx.NopLogger, original, duplicate).Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, app.ErrInvalidService)
	assert.Contains(t, err.Error(), `service "db" (SEPARATE_THREAD) at `+second+
		": the name is already taken by the service registered at "+first)
}

func TestAllInvalidRegistrationsReportedAtOnce(t *testing.T) {
	err := app.New(quiet(), fx.NopLogger,
		app.Service("", leaf[[1]byte], modes.SeparateThread),
		app.Service("fine", leaf[[2]byte], modes.SeparateThread),
		app.Service("ui", func() *onlyRun { return nil }, modes.MainEventLoopAsync),
	).Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the name is empty")
	assert.Contains(t, err.Error(), `service "ui" (MAIN_EVENT_LOOP_ASYNC)`)
}

func TestNamesThatWouldBreakTags(t *testing.T) {
	for _, name := range []string{`a"b`, `a\b`, "a`b", "a#1"} {
		err := app.New(quiet(), fx.NopLogger, app.Service(name, leaf[[1]byte], modes.SeparateThread)).Err()
		require.Error(t, err, name)
		assert.ErrorIs(t, err, app.ErrInvalidService)
		assert.Contains(t, err.Error(), "the name holds", name)
	}
}

// Replicas the configuration sets are checked before the app builds
// anything, so a number far too large is an error at once.
func TestTooManyReplicasFromConfiguration(t *testing.T) {
	cfg, err := config.New(config.Args([]string{"--services.w.replicas=20000"}))
	require.NoError(t, err)
	err = app.New(quiet(), fx.NopLogger, config.Supply(cfg), app.Service("w", leaf[[1]byte], modes.SeparateThread)).Err()
	require.Error(t, err)
	assert.ErrorIs(t, err, app.ErrInvalidService)
	assert.Contains(t, err.Error(), `service "w"`)
	assert.Contains(t, err.Error(), "replicas 20000: want 1 to 1024")
}

// What EveryProcess holds is read like any other option: its services
// run, and its configuration counts.
func TestEveryProcessHoldsOrdinaryOptions(t *testing.T) {
	cfg, err := config.New(config.Args([]string{"--services.w.replicas=2"}))
	require.NoError(t, err)
	rec := newRecorder()
	a := newApp(t, rec.option(), app.EveryProcess(config.Supply(cfg), app.Service("w", leaf[[1]byte], modes.SeparateThread)))
	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, []string{"w#1", "w#2"}, names(rec, succeeded))
}
