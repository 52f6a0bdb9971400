package proc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/supervisor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// fakeExecutor starts this test binary as a fake child that behaves as how
// says.
func fakeExecutor(how string) Executor {
	return Executor{Log: zap.NewNop(), Args: []string{"-test.run=^$"}, App: "proc.test", fake: []string{fakeChildEnv + "=" + how}}
}

func TestChildDeathIsExplained(t *testing.T) {
	tests := []struct {
		how         string
		wantCode    int
		wantMessage string // the stderr line that explains the end
		wantHead    string // the head of the crash report; "" for none
		wantError   string // in Error
	}{
		{"panic", 2, "panic: boom in a goroutine", "goroutine ", "exit status 2: panic: boom in a goroutine"},
		{"log-fatal", 1, "cannot reach the database", "", "exit status 1: "},
		{"fatal-error", 2, "fatal error: sync: unlock of unlocked mutex", "goroutine ", "exit status 2: fatal error: sync: unlock of unlocked mutex"},
		{"constructor-panic", 2, "panic: no database configured", "newDatabase", "exit status 2: panic: no database configured"},
	}
	for _, tt := range tests {
		t.Run(tt.how, func(t *testing.T) {
			err := fakeExecutor(tt.how).Launch(testSpec()).Wait()
			var ce *lifecycle.ChildExitError
			require.ErrorAs(t, err, &ce, "%v", err)
			assert.Equal(t, "fake", ce.Service)
			assert.NotZero(t, ce.PID)
			assert.Equal(t, tt.wantCode, ce.ExitCode)
			assert.Zero(t, ce.Signal)
			assert.False(t, ce.Killed, "the child died by itself")
			assert.Empty(t, ce.KilledFor)
			assert.Contains(t, ce.Message, tt.wantMessage)
			assert.ErrorContains(t, err, tt.wantError)
			assert.ErrorContains(t, err, tt.wantMessage)
			if tt.wantHead == "" {
				assert.Nil(t, ce.StderrHead, "no Go crash report: %s", ce.StderrHead)
			} else {
				assert.Contains(t, string(ce.StderrHead), tt.wantMessage)
				assert.Contains(t, string(ce.StderrHead), tt.wantHead)
				assert.NotContains(t, string(ce.StderrHead), "an ordinary log line", "the head starts at the crash report")
			}
			assert.Contains(t, string(ce.Stderr), "an ordinary log line before the end")
			assert.Contains(t, string(ce.Stderr), tt.wantMessage)
		})
	}
}

// A panic the child recovered reaches the parent over the control channel,
// stack and all, whatever the child's logger did with it.
func TestRecoveredPanicComesWithItsStack(t *testing.T) {
	err := fakeExecutor("recovered-panic").Launch(testSpec()).Wait()
	var ce *lifecycle.ChildExitError
	require.ErrorAs(t, err, &ce, "%v", err)
	assert.Equal(t, 1, ce.ExitCode)
	assert.Equal(t, "panic in (*fake).Run: boom in Run", ce.Reason)
	var pe *modes.PanicError
	require.ErrorAs(t, err, &pe, "the panic is found as in-process")
	assert.Equal(t, modes.PanicError{Value: "boom in Run", Func: "(*fake).Run", Stack: []byte("goroutine 9 [running]:\nfake.(*S).Run()\n")}, *pe)
	assert.Equal(t, "panic: boom in Run\n\n"+string(pe.Stack), string(ce.Trace()), "the trace is the panic's, as Go writes one")
	assert.NotContains(t, string(ce.Stderr), "goroutine 9", "it came over the control channel, not stderr")
	assert.Equal(t, fmt.Sprintf("child %d exit status 1: panic in (*fake).Run: boom in Run", ce.PID), err.Error(), "said once")
}

func TestKilledChildSaysWhoKilledItAndWhy(t *testing.T) {
	r := fakeExecutor("silent").Launch(testSpec())
	r.(*Run).Kill("did not start: start timed out")
	var ce *lifecycle.ChildExitError
	require.ErrorAs(t, r.Wait(), &ce)
	assert.True(t, ce.Killed)
	assert.Equal(t, "did not start: start timed out", ce.KilledFor)
	assert.Equal(t, syscall.SIGKILL, ce.Signal)
	assert.Equal(t, -1, ce.ExitCode)
	assert.Equal(t, "signal: killed", ce.Status())
}

// supervised runs the fake child how under a supervisor, as the app does.
func supervised(how string, observe lifecycle.Observer) *supervisor.Service {
	return &supervisor.Service{
		Name: "fake", Mode: modes.SeparateProcess,
		Settings: lifecycle.DefaultSettings().With(lifecycle.RestartPolicy(lifecycle.Never), lifecycle.StopTimeout(time.Second)),
		Executor: fakeExecutor(how),
		Observe:  observe,
		Clock:    clockwork.NewRealClock(),
	}
}

func TestChildExitErrorIsFoundThroughTheSupervisorsWrappers(t *testing.T) {
	t.Run("a crash after the start", func(t *testing.T) {
		events := make(chan lifecycle.Event, 16)
		gaveUp := make(chan error, 1)
		s := supervised("panic", func(e lifecycle.Event) { events <- e })
		s.OnGiveUp = func(_ *supervisor.Service, err error) { gaveUp <- err }
		require.NoError(t, s.Start(context.Background()))
		var cause error
		select {
		case cause = <-gaveUp:
		case <-time.After(time.Minute):
			t.Fatal("the supervisor did not give up on a crashed child within a minute")
		}
		var ce *lifecycle.ChildExitError
		require.ErrorAs(t, cause, &ce)
		assert.Equal(t, "panic: boom in a goroutine", ce.Message)
		var crashed *lifecycle.Crashed
		for len(events) > 0 && crashed == nil {
			crashed, _ = (<-events).(*lifecycle.Crashed)
		}
		require.NotNil(t, crashed, "a Crashed event came before the supervisor gave up")
		require.ErrorAs(t, crashed.Err, &ce)
		assert.Contains(t, string(crashed.Stack), "panic: boom in a goroutine", "the event's stack is the crash report")
		require.NoError(t, s.Stop(context.Background()))
	})
	t.Run("a constructor that panics before the start", func(t *testing.T) {
		s := supervised("constructor-panic", func(lifecycle.Event) {})
		err := s.Start(context.Background())
		require.Error(t, err)
		assert.ErrorContains(t, err, `service "fake"`)
		var ce *lifecycle.ChildExitError
		require.True(t, errors.As(err, &ce), "%v", err)
		assert.Equal(t, "panic: no database configured", ce.Message)
		assert.Contains(t, string(ce.StderrHead), "newDatabase", "the head holds the constructor's frame")
	})
}

func TestCrashMessage(t *testing.T) {
	tests := []struct {
		name       string
		head, tail string
		want       string
	}{
		{"the crash report's first line", "panic: boom\n\ngoroutine 1 [running]:\n", "log\npanic: boom\n\ngoroutine 1 [running]:\n", "panic: boom"},
		{"log.Fatal's line", "", "starting\n2026/01/02 03:04:05 cannot go on\n\n", "2026/01/02 03:04:05 cannot go on"},
		{"a JSON fatal log line", "", `{"level":"fatal","msg":"cannot go on","error":"disk full"}` + "\n", "cannot go on: disk full"},
		{"a JSON line without error", "", `{"level":"fatal","msg":"cannot go on"}`, "cannot go on"},
		{"nothing", "", "", ""},
		{"a long line is cut", "", strings.Repeat("x", 2*maxMessage), strings.Repeat("x", maxMessage) + " [...]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, crashMessage([]byte(tt.head), []byte(tt.tail)))
		})
	}
}

func TestCrashHeadStartsAtTheCrashAndIsBounded(t *testing.T) {
	var h crashHead
	h.line([]byte("an ordinary line"))
	assert.Nil(t, h.bytes())
	h.line([]byte("fatal error: concurrent map writes"))
	h.line([]byte(strings.Repeat("y", 2*headSize)))
	h.line([]byte("after the cut"))
	got := h.bytes()
	assert.Len(t, got, headSize)
	assert.True(t, strings.HasPrefix(string(got), "fatal error: concurrent map writes\n"))
}

func TestChildStoppedBySignalIsAnExplainedCleanEnd(t *testing.T) {
	r := fakeExecutor("signaled").Launch(testSpec())
	err := r.Wait()
	var ce *executor.CleanEnd
	require.ErrorAs(t, err, &ce, "%v", err)
	assert.Equal(t, fmt.Sprintf("child %d stopped in order on SIGTERM sent to it directly, not by the app", r.(*Run).PID()), ce.Reason)

	r = fakeExecutor("signaled-stop-failed").Launch(testSpec())
	err = r.Wait()
	require.Error(t, err)
	assert.False(t, errors.As(err, &ce), "a stop that failed is a failure")
	assert.ErrorContains(t, err, "stopped in order on SIGINT sent to it directly, not by the app, and its stop failed: flush: disk full")
}
