package conformance_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/restart"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// TestConformance runs every row in every mode. The expectations are the
// row's, whatever the mode. The rows run in parallel; the test itself does
// not, so that with -count a row never runs beside itself (see stateDir).
func TestConformance(t *testing.T) {
	for _, r := range rows() {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range modes.Modes() {
				t.Run(mode.String(), func(t *testing.T) {
					t.Parallel()
					runRow(t, mode, r)
				})
			}
		})
	}
}

// runRow runs r in mode and checks what the app showed against it.
func runRow(t *testing.T, mode modes.ExecutionMode, r row) {
	h := newHarness(t, mode, r)
	startErr := h.a.Start(h.context()) // in a child, the child's whole life
	require.Equal(t, r.wantStart, class(startErr), "Start: %v; events: %v", startErr, h.rec.trace())
	if startErr == nil {
		for _, s := range r.steps {
			s(h)
		}
		stopErr := h.a.Stop(h.context())
		assert.Equal(t, r.wantStop, class(stopErr), "Stop: %v", stopErr)
	}

	assert.Equal(t, r.wantEvents, h.rec.trace(), "events")
	st := h.status()
	assert.Equal(t, r.wantState, st.State, "Status.State")
	assert.Equal(t, r.wantRestarts, st.Restarts, "Status.Restarts")
	assert.Equal(t, r.wantLastErr, class(st.LastError), "Status.LastError: %v", st.LastError)
	if startErr != nil {
		assert.Equal(t, class(startErr), class(st.LastError), "after a failed start, Status.LastError says why: %v", st.LastError)
	}
	checkExit(t, h, r.wantExit1)
	checkStacks(t, h)
	checkDelays(t, h, lifecycle.DefaultSettings().With(r.opts...).Restart)
	checkWhere(t, h, st)
}

// checkExit checks whether the app was told to stop with exit code 1.
func checkExit(t *testing.T, h *harness, want bool) {
	if !want {
		select {
		case sig := <-h.a.Wait():
			t.Errorf("the app was told to stop: %v", sig)
		default:
		}
		return
	}
	select {
	case sig := <-h.a.Wait():
		assert.Equal(t, 1, sig.ExitCode, "a service that gives up stops the app with exit code 1")
	case <-time.After(patience):
		t.Errorf("the app was not told to stop within %v", patience)
	}
}

// checkDelays checks that each restart waited what the strategy says for
// its attempt: the value reported, not the time it took.
func checkDelays(t *testing.T, h *harness, s lifecycle.Strategy) {
	for _, e := range h.rec.snapshot() {
		r, ok := e.(*lifecycle.Restarting)
		if !ok {
			continue
		}
		base := s
		base.MaxJitter = 0
		least := restart.Delay(base, r.Attempt-1, nil)
		most := least
		if s.Kind == lifecycle.StrategyExponentialBackoff {
			most += min(s.MaxJitter, least/2)
		}
		assert.True(t, r.Delay >= least && r.Delay <= most, "restart %d waits %v, want %v to %v", r.Attempt, r.Delay, least, most)
	}
}

// checkWhere checks that Status says where the last run was: the process
// of the last start.
func checkWhere(t *testing.T, h *harness, st lifecycle.Status) {
	var last *lifecycle.Started
	for _, e := range h.rec.snapshot() {
		if s, ok := e.(*lifecycle.Started); ok {
			last = s
		}
	}
	if last == nil {
		return
	}
	assert.Equal(t, last.PID, st.PID, "Status.PID is the last run's process")
	if h.mode.Process() {
		assert.NotEqual(t, os.Getpid(), st.PID, "a process-mode run is in a child")
	} else {
		assert.Equal(t, os.Getpid(), st.PID, "an in-process run is in this process")
	}
}

// checkStacks checks that every panic is reported with the stack that
// explains it.
func checkStacks(t *testing.T, h *harness) {
	for _, e := range h.rec.snapshot() {
		if c, ok := e.(*lifecycle.Crashed); ok && class(c.Err) == "panic" {
			assert.Contains(t, string(c.Stack), "(*scripted).", "the Crashed event's stack shows where the service panicked")
		}
	}
}
