package proc

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/executor"
)

func TestChildSignsOfLifeReachTheWatchdogAndAHungChildDumpsItsGoroutines(t *testing.T) {
	var alive atomic.Int32
	e := Executor{Log: zap.NewNop(), Args: []string{"-test.run=^$"}, App: "proc.test", KillGrace: time.Minute}
	r := e.Launch(executor.Spec{Name: "ticker", StopTimeout: time.Minute, Watchdog: time.Second,
		Alive: func() { alive.Add(1) }})
	<-r.Ready()
	require.Eventually(t, func() bool { return alive.Load() >= 2 }, time.Minute, time.Millisecond,
		"the child's Alive frames reach the spec's Alive")

	stack := executor.Hung(r, "hung: no sign of life for 1s (watchdog)")
	assert.Nil(t, stack, "a child dumps its goroutines to its stderr, not here")
	err := r.Wait()
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	assert.True(t, ee.Killed)
	assert.Equal(t, "hung: no sign of life for 1s (watchdog)", ee.KilledFor)
	// A Go child that gets SIGQUIT writes all its goroutines and exits 2,
	// long before the minute's kill grace.
	assert.Equal(t, 2, ee.ExitCode)
	assert.Zero(t, ee.Signal)
	assert.Contains(t, string(ee.Stderr), "SIGQUIT")
	assert.Contains(t, string(ee.Stderr), "goroutine ")
	assert.Contains(t, string(ee.Trace()), "runChild", "the dump shows the child's goroutines")
	assert.ErrorContains(t, err, "exit status 2: hung: no sign of life for 1s (watchdog)")
}
