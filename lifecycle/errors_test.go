package lifecycle_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestChildExitErrorText(t *testing.T) {
	tests := []struct {
		name string
		give lifecycle.ChildExitError
		want string
	}{
		{"a panic", lifecycle.ChildExitError{PID: 7, ExitCode: 2, Message: "panic: boom"}, "child 7 exit status 2: panic: boom"},
		{"killed", lifecycle.ChildExitError{PID: 7, ExitCode: -1, Signal: syscall.SIGKILL, Killed: true,
			KilledFor: "hung", Reason: "hung", Message: "some log line"}, "child 7 signal: killed: hung"},
		{"no word", lifecycle.ChildExitError{PID: 7, ExitCode: 3}, "child 7 exit status 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, &tt.give, tt.want)
			wrapped := fmt.Errorf("service %q: stop: %w", "db", errors.Join(errors.New("other"), &tt.give))
			var ce *lifecycle.ChildExitError
			assert.ErrorAs(t, wrapped, &ce)
		})
	}
}

func TestChildExitErrorTrace(t *testing.T) {
	e := &lifecycle.ChildExitError{StderrHead: []byte("panic: boom\ngoroutine 1\n"), Stderr: []byte("end of a long dump\n")}
	assert.Equal(t, "panic: boom\ngoroutine 1\n\n[...]\nend of a long dump\n", string(e.Trace()), "the head, when the tail lost it")
	e.Stderr = []byte("log\npanic: boom\ngoroutine 1\n")
	assert.Equal(t, string(e.Stderr), string(e.Trace()), "the tail alone, when it holds the head")
}

func TestChildExitErrorWrapsWhatTheFailureIs(t *testing.T) {
	timeout := &lifecycle.TimeoutError{Service: "db", Phase: "stop", Timeout: time.Second}
	e := &lifecycle.ChildExitError{PID: 7, ExitCode: -1, Signal: syscall.SIGKILL, Killed: true,
		KilledFor: "did not stop within 1s", Reason: "did not stop within 1s", Err: timeout, Stderr: []byte("goroutine 1 [select]:\n")}
	err := fmt.Errorf("service %q: stop: %w", "db", e)
	assert.ErrorIs(t, err, lifecycle.ErrTimeout)
	var te *lifecycle.TimeoutError
	assert.ErrorAs(t, err, &te)
	assert.EqualError(t, e, "child 7 signal: killed: did not stop within 1s", "Err is not said twice")
	assert.Equal(t, "goroutine 1 [select]:\n", string(e.Trace()), "no panic: the trace is the stderr's")

	pe := &modes.PanicError{Value: "boom", Func: "(*S).Run", Stack: []byte("goroutine 9 [running]:\n")}
	e = &lifecycle.ChildExitError{PID: 7, ExitCode: 1, Reason: "panic in (*S).Run: boom", Err: pe, Stderr: []byte("a log line\n")}
	var got *modes.PanicError
	assert.ErrorAs(t, fmt.Errorf("wrapped: %w", e), &got)
	assert.Equal(t, "panic: boom\n\ngoroutine 9 [running]:\n", string(e.Trace()), "the trace is the panic's, as Go writes one")
}
