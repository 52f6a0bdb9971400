package supervisor

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
)

// A run with an IMMEDIATE strategy restarts on its own loop: the loop
// reports the start (Entered) and asks whether to run again after an end
// (Again), and the supervisor keeps the count, the events and the state
// as for any restart, and gives up where the intensity says.
func TestRestartInPlace(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Hour))
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(t.Context()) }()
	r := f.exec.pending(t)
	restarter := r.spec.Restarter
	require.NotNil(t, restarter, "IMMEDIATE without WaitForReady restarts in place")

	restarter.Entered(r, nil) // the loop reports the start itself, then the run is ready
	close(r.ready)
	require.NoError(t, <-errc)
	assert.Nil(t, only[*lifecycle.Started](t, f.rec).Err)
	assert.Equal(t, lifecycle.StateRunning, f.svc.State())

	boom := errors.New("boom")
	for restart := 1; restart <= 2; restart++ {
		require.True(t, restarter.Again(r, boom), "restart %d runs again in place", restart)
		assert.Equal(t, restart, waitFor[*lifecycle.Restarting](t, f.rec, restart).Attempt)
		waitFor[*lifecycle.Starting](t, f.rec, restart+1)
		restarter.Entered(r, nil)
		assert.Nil(t, waitFor[*lifecycle.Started](t, f.rec, restart+1).Err)
		assert.Equal(t, lifecycle.StateRunning, f.svc.State())
	}
	assert.Equal(t, 2, f.svc.Status().Restarts)

	// A third failure within the hour is one too many: the run ends.
	require.False(t, restarter.Again(r, boom))
	r.end(boom)
	assert.ErrorIs(t, <-f.gave, boom)
	assert.Equal(t, lifecycle.StateFailed, f.svc.State())
	assert.Len(t, f.exec.launched, 0, "no second run was launched: the one run went on in place")
}

// A start that fails in place is reported as the start's failure, and the
// restart policy applies to it.
func TestRestartInPlaceThatFailsToStart(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(5, time.Hour))
	errc := make(chan error, 1)
	go func() { errc <- f.svc.Start(t.Context()) }()
	r := f.exec.pending(t)
	restarter := r.spec.Restarter
	restarter.Entered(r, nil)
	close(r.ready)
	require.NoError(t, <-errc)

	require.True(t, restarter.Again(r, errors.New("crash")))
	waitFor[*lifecycle.Starting](t, f.rec, 2)
	restarter.Entered(r, errors.New("no database"))
	started := waitFor[*lifecycle.Started](t, f.rec, 2)
	require.Error(t, started.Err)
	assert.Contains(t, started.Err.Error(), `service "svc" (SEPARATE_THREAD): start: no database`)
	f.stop(t, r)
}
