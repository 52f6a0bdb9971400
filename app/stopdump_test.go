package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// deafToStop runs until release closes, whatever its context says: Run
// blocks in stuckInRunAtStop, and RunAsync's Go work in stuckInGoWork.
type deafToStop struct{ release chan struct{} }

func (d *deafToStop) Run(context.Context) error {
	stuckInRunAtStop(d.release)
	return nil
}

func stuckInRunAtStop(release <-chan struct{}) { <-release }

func (d *deafToStop) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Go(d.stuckInGoWork, nil)
	return nil
}

func (d *deafToStop) stuckInGoWork(context.Context) error { <-d.release; return nil }

// An in-process service that ignores its stop cannot be killed; the stop
// records where it is stuck, in the error, the event and the log.
func TestStopTimeoutRecordsWhereAnInProcessServiceIsStuck(t *testing.T) {
	tests := []struct {
		mode modes.ExecutionMode
		want string // the function on the stuck goroutine's stack
	}{
		{modes.SeparateThread, "stuckInRunAtStop"},
		{modes.SeparateThreadAsync, "stuckInGoWork"},
		{modes.MainEventLoopAsync, "stuckInGoWork"},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			rec := newRecorder()
			d := &deafToStop{release: make(chan struct{})}
			defer close(d.release) // let the detached goroutine end before goleak looks
			a := app.New(fx.NopLogger, app.Logger(zap.New(core)), rec.option(),
				app.Service("deaf", func() *deafToStop { return d }, tt.mode, lifecycle.StopTimeout(50*time.Millisecond)))
			require.NoError(t, a.Err())
			require.NoError(t, a.Start(t.Context()))
			ctx, cancel := context.WithTimeout(t.Context(), time.Second) // the main loop's own stop waits for it too
			defer cancel()
			err := a.Stop(ctx)

			var te *lifecycle.TimeoutError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, "stop", te.Phase)
			var traced interface{ Trace() []byte }
			require.ErrorAs(t, err, &traced, "the error carries the stack")
			assert.Contains(t, string(traced.Trace()), tt.want)
			stopped := waitFor[*lifecycle.Stopped](t, rec, "deaf")
			assert.True(t, stopped.Detached)
			assert.Contains(t, string(stopped.Stack), tt.want, "the event shows where the service is stuck")
			assert.NotContains(t, string(stopped.Stack), "TestStopTimeoutRecords", "only the service's goroutine")
			detached := logs.FilterMessage("detached").All()
			require.Len(t, detached, 1)
			assert.Contains(t, detached[0].ContextMap()["stack"], tt.want, "the log line shows it")
		})
	}
}
