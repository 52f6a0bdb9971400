package proc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/executor"
)

func spareExecutor(warm bool) Executor {
	return Executor{Log: zap.NewNop(), Args: []string{"-test.run=^$"}, App: "proc.test", Spares: &Spares{Warm: warm}}
}

func spawnerSpec() executor.Spec {
	return executor.Spec{Name: "spawner", StopTimeout: 10 * time.Second}
}

// heldRun is the child the spares hold, waiting until there is one that
// has a PID.
func heldRun(t *testing.T, s *Spares) *Run {
	t.Helper()
	var r *Run
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		r = s.held
		return r != nil && r.PID() > 0
	}, 10*time.Second, time.Millisecond, "no spare child")
	return r
}

func stopRun(t *testing.T, r executor.Run) {
	t.Helper()
	r.Stop()
	assert.NoError(t, r.Wait())
}

func TestLaunchTakesThePrespawnedChild(t *testing.T) {
	e := spareExecutor(false)
	e.Prespawn(spawnerSpec())
	held := heldRun(t, e.Spares)
	r := e.Launch(spawnerSpec())
	assert.Same(t, held, r, "the launch spawned a child of its own")
	<-r.Ready()
	assert.Equal(t, held.PID(), r.(*Run).PID())
	stopRun(t, r)

	// Without a spare, and without Warm, the next launch spawns afresh.
	r = e.Launch(spawnerSpec())
	assert.NotSame(t, held, r)
	<-r.Ready()
	stopRun(t, r)
	e.Spares.mu.Lock()
	assert.Nil(t, e.Spares.held, "a spare was spawned without Warm")
	e.Spares.mu.Unlock()
}

func TestClosedSparesEndTheHeldChildAndSpawnNoMore(t *testing.T) {
	e := spareExecutor(true)
	e.Prespawn(spawnerSpec())
	held := heldRun(t, e.Spares)
	e.Spares.Close()
	assert.ErrorIs(t, unix.Kill(held.PID(), 0), unix.ESRCH, "the held child outlived Close")
	e.Prespawn(spawnerSpec())
	e.Spares.mu.Lock()
	assert.Nil(t, e.Spares.held, "closed spares spawned a child")
	e.Spares.mu.Unlock()
	e.Spares.Open()
	e.Prespawn(spawnerSpec())
	heldRun(t, e.Spares)
	e.Spares.Close()
}

func TestHeldChildThatDiedIsReplacedByASpawn(t *testing.T) {
	e := spareExecutor(false)
	e.Prespawn(spawnerSpec())
	held := heldRun(t, e.Spares)
	require.NoError(t, unix.Kill(held.PID(), unix.SIGKILL))
	require.Error(t, held.Wait())
	r := e.Launch(spawnerSpec())
	assert.NotSame(t, held, r)
	<-r.Ready()
	assert.NotEqual(t, held.PID(), r.(*Run).PID())
	stopRun(t, r)
}

func TestWarmSparesRefillAfterEachStart(t *testing.T) {
	e := spareExecutor(true)
	first := e.Launch(spawnerSpec())
	<-first.Ready()
	spare := heldRun(t, e.Spares)
	assert.NotEqual(t, first.(*Run).PID(), spare.PID())
	stopRun(t, first)

	second := e.Launch(spawnerSpec())
	assert.Same(t, spare, second, "the launch did not take the spare")
	<-second.Ready()
	next := heldRun(t, e.Spares)
	assert.NotSame(t, spare, next, "no new spare after the second start")
	stopRun(t, second)
	e.Spares.Close()
	assert.ErrorIs(t, unix.Kill(next.PID(), 0), unix.ESRCH, "the spare outlived Close")
}
