package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

type onlyRun struct{}

func (*onlyRun) Run(context.Context) error { return nil }

type onlyAsync struct{}

func (*onlyAsync) RunAsync(context.Context, *modes.Loop) error { return nil }

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
		{"bad results", func() (fx.Option, string) {
			return app.Service("db", func() (*onlyRun, int) { return nil, 0 }, modes.SeparateThread), here()
		}, []string{`service "db"`, "returns (*app_test.onlyRun, int); want (Service) or (Service, error)"}},
		{"no results", func() (fx.Option, string) {
			return app.Service("db", func() {}, modes.SeparateThread), here()
		}, []string{`service "db"`, "returns nothing"}},
		{"missing RunAsync", func() (fx.Option, string) {
			return app.Service("ui", func() *onlyRun { return nil }, modes.MainEventLoopAsync), here()
		}, []string{`service "ui" (MAIN_EVENT_LOOP_ASYNC)`, "*app_test.onlyRun has no method RunAsync(context.Context, *modes.Loop) error"}},
		{"missing Run", func() (fx.Option, string) {
			return app.Service("cpu", func() *onlyAsync { return nil }, modes.SeparateThread), here()
		}, []string{`service "cpu" (SEPARATE_THREAD)`, "*app_test.onlyAsync has no method Run(context.Context) error"}},
		{"unknown mode", func() (fx.Option, string) {
			return app.Service("x", leaf[[1]byte], modes.ExecutionMode(9)), here()
		}, []string{`service "x" (ExecutionMode(9))`, "unknown execution mode 9"}},
		{"process mode without Run", func() (fx.Option, string) {
			return app.Service("x", func() *onlyAsync { return nil }, modes.SeparateProcess), here()
		}, []string{`service "x" (SEPARATE_PROCESS)`, "*app_test.onlyAsync has no method Run(context.Context) error"}},
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
