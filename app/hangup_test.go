package app_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// hupParentScenario is a whole program with two services in children, one
// of which asks to be replaced on SIGHUP, and one in this process that
// asks for it too.
func hupParentScenario() {
	app.New(app.ChildArgs(os.Args[1:]...),
		app.Service("worker", newSwapWorker, modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.ReplaceOnHangup()),
		app.Service("steady", newSwapWorker, modes.SeparateProcess, lifecycle.WaitForReady()),
		app.Service("local", newSwapWorker, modes.SeparateThread, lifecycle.ReplaceOnHangup()),
	).Run()
}

// replacedPIDs reads the old and new pid from a replaced event's log line.
func replacedPIDs(t *testing.T, line string) (old, pid int) {
	t.Helper()
	var entry struct {
		OldPID int `json:"old_pid"`
		PID    int `json:"pid"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &entry))
	return entry.OldPID, entry.PID
}

// On SIGHUP, App.Run replaces the process-mode services that ask for it,
// and logs each step; a service in this process that asks for it is left
// running, and the log says why. Other services keep their children, and
// the app stops cleanly afterwards, leaving no child behind.
func TestSIGHUPReplacesTheServicesThatAskForIt(t *testing.T) {
	p := startHelper(t, "hupparent")
	worker := childPID(t, p, "worker")
	steady := childPID(t, p, "steady")
	p.waitLog(`"event":"started"`, `"service":"local"`)

	pids := []int{worker}
	for round := range 2 {
		p.signal(unix.SIGHUP)
		p.waitLog(`"msg":"SIGHUP: replacing services"`, `"services":["worker","local"]`)
		line := p.waitLog(`"event":"replaced"`, `"service":"worker"`)
		old, pid := replacedPIDs(t, line)
		assert.Equal(t, pids[len(pids)-1], old, "round %d replaced the child of the round before", round)
		assert.NotEqual(t, old, pid)
		assert.False(t, alive(old), "the old child has ended")
		assert.True(t, alive(pid))
		pids = append(pids, pid)
		line = p.waitLog(`"msg":"SIGHUP: not replaced: the service runs in this process, with one instance"`)
		assert.Contains(t, line, `"service":"local"`)
		assert.Contains(t, line, `"mode":"SEPARATE_THREAD"`)
		assert.Contains(t, line, `"level":"warn"`)
	}
	assert.True(t, alive(steady), "a service that did not ask keeps its child")

	p.signal(unix.SIGTERM)
	code, log := p.wait()
	assert.Equal(t, 0, code, log)
	assert.NotContains(t, log, `"event":"crashed"`)
	assert.NotContains(t, log, `"service":"steady","mode":"SEPARATE_PROCESS","old_pid"`)
	for _, pid := range append(pids, steady) {
		assert.False(t, alive(pid), fmt.Sprintf("child %d is left", pid))
	}
}
