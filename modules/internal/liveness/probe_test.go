package liveness_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAnswerComesBack(t *testing.T) {
	want := []lifecycle.Status{{Service: "worker", State: lifecycle.StateRunning}}
	p := liveness.New(func() []lifecycle.Status { return want })
	got, err := p.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// A wedged supervisor fails the probe when its context ends, and is asked
// once however many probes wait for it.
func TestWedgedSupervisorIsAskedOnce(t *testing.T) {
	release := make(chan struct{})
	asked := make(chan struct{}, 10)
	var calls atomic.Int32
	p := liveness.New(func() []lifecycle.Status {
		calls.Add(1)
		asked <- struct{}{}
		<-release
		return nil
	})
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := p.Status(ctx)
		require.ErrorIs(t, err, liveness.ErrNoAnswer)
		require.ErrorIs(t, err, context.Canceled)
		if i == 0 {
			<-asked // the question is under way
		}
	}
	assert.Equal(t, int32(1), calls.Load(), "one question under way at a time")

	close(release) // it answers: the next probe asks again and waits
	_, err := p.Status(context.Background())
	require.NoError(t, err)
	assert.LessOrEqual(t, calls.Load(), int32(2))
}

// A probe with a ping fails when the ping does, as a main loop stuck in a
// callback makes it.
func TestPingThatFailsFailsTheProbe(t *testing.T) {
	stuck := errors.New(`event loop "main": no answer`)
	var fail atomic.Bool
	p := liveness.New(func() []lifecycle.Status { return nil }).WithPing(func(context.Context) error {
		if fail.Load() {
			return stuck
		}
		return nil
	})
	_, err := p.Status(context.Background())
	require.NoError(t, err)
	fail.Store(true)
	_, err = p.Status(context.Background())
	require.ErrorIs(t, err, liveness.ErrNoAnswer)
	require.ErrorIs(t, err, stuck)
}
