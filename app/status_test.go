package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestStatus(t *testing.T) {
	rec := newRecorder()
	var sup *app.Supervisor
	f := &flaky{}
	a := newApp(t, rec.option(), fx.Populate(&sup),
		app.Service("steady", leaf[[1]byte], modes.SeparateThread),
		app.Service("flaky", func() *flaky { return f }, modes.SeparateThreadAsync,
			lifecycle.Restart(lifecycle.Immediate())),
	)
	require.NoError(t, a.Start(t.Context()))
	require.Eventually(t, func() bool { return len(names(rec, succeeded)) == 3 }, time.Minute, time.Millisecond)

	st := sup.Status()
	require.Len(t, st, 2)
	assert.Equal(t, st, a.Status(), "the app and the injected supervisor agree")
	assert.Equal(t, "steady", st[0].Service)
	assert.Equal(t, modes.SeparateThread, st[0].Mode)
	assert.Equal(t, lifecycle.StateRunning, st[0].State)
	assert.Equal(t, unix.Getpid(), st[0].PID)
	assert.NotZero(t, st[0].TID)
	assert.Zero(t, st[0].Restarts)
	assert.NoError(t, st[0].LastError)

	assert.Equal(t, "flaky", st[1].Service)
	assert.Equal(t, lifecycle.StateRunning, st[1].State)
	assert.Equal(t, 1, st[1].Restarts)
	var pe *modes.PanicError
	assert.True(t, errors.As(st[1].LastError, &pe))
	assert.False(t, st[1].LastErrorAt.IsZero())
	assert.False(t, st[1].Since.Before(st[1].LastErrorAt), "running since after the failure")

	require.NoError(t, a.Stop(t.Context()))
	for _, s := range a.Status() {
		assert.Equal(t, lifecycle.StateStopped, s.State, s.Service)
	}
}

// blocker holds the main loop in a callback until released.
type blocker struct{ entered, release chan struct{} }

func (b *blocker) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Post(func() { close(b.entered); <-b.release })
	return nil
}

func TestPingNamesTheCallbackTheMainLoopIsStuckIn(t *testing.T) {
	b := &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	a := newApp(t, app.Service("stuck", func() *blocker { return b }, modes.MainEventLoopAsync))
	require.NoError(t, a.Ping(t.Context()), "before Start nothing runs")
	require.NoError(t, a.Start(t.Context()))
	defer func() { require.NoError(t, a.Stop(context.Background())) }()
	<-b.entered
	var err error
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		err = a.Ping(ctx)
		return err != nil && strings.Contains(err.Error(), `a callback of "stuck"`)
	}, time.Minute, time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), `event loop "main": no answer`)
	close(b.release)
	require.NoError(t, a.Ping(t.Context()))
}

func TestSupervisorLoggerIsTheApps(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	a := app.New(fx.NopLogger, app.Logger(zap.New(core)))
	require.NoError(t, a.Err())
	a.Logger().Info("from a module")
	assert.Equal(t, 1, logs.FilterMessage("from a module").Len())

	broken := app.New(fx.NopLogger, quiet(), fx.Invoke(func(*missingService) {}))
	require.Error(t, broken.Err())
	broken.Logger().Info("goes nowhere") // and does not panic
}

type missingService struct{}
