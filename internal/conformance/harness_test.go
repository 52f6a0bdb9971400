package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// service is the name of every row's service.
const service = "svc"

// patience bounds every wait for something the app does. It is no timing
// goal: a loaded machine running the race detector gets all of it, and a
// row that needs it has failed anyway.
const patience = time.Minute

// class names the kind of failure err reports, the same way whatever mode
// it came from: a child's failure reaches the parent as text, so the
// scripted service's own texts tell an error from a panic.
func class(err error) string {
	var pe *modes.PanicError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, lifecycle.ErrTimeout):
		return "timeout"
	case errors.Is(err, lifecycle.ErrNoRestart):
		return "norestart"
	case errors.As(err, &pe), strings.Contains(err.Error(), panicValue):
		return "panic"
	case strings.Contains(err.Error(), failText):
		return "error"
	}
	return fmt.Sprintf("other(%v)", err)
}

// withClass is "" for no error, else "!" and its class.
func withClass(err error) string {
	if err == nil {
		return ""
	}
	return "!" + class(err)
}

// normalise reduces an event to what every mode must agree on: its kind,
// its attempt or restart count, and its error's class. It returns "" for
// events no row asserts: stall reports depend on the machine's load.
func normalise(e lifecycle.Event) string {
	switch e := e.(type) {
	case *lifecycle.Starting:
		return "Starting"
	case *lifecycle.Started:
		return "Started" + withClass(e.Err)
	case *lifecycle.Crashed:
		return "Crashed" + withClass(e.Err)
	case *lifecycle.Exited:
		return "Exited" + withClass(e.Err)
	case *lifecycle.Restarting:
		return fmt.Sprintf("Restarting#%d%s", e.Attempt, withClass(e.Cause))
	case *lifecycle.GaveUp:
		return fmt.Sprintf("GaveUp#%d%s", e.Restarts, withClass(e.Cause))
	case *lifecycle.Stopping:
		return "Stopping"
	case *lifecycle.Stopped:
		return "Stopped" + withClass(e.Err)
	}
	return ""
}

// serviceOf names the service an event is about.
func serviceOf(e lifecycle.Event) string {
	switch e := e.(type) {
	case *lifecycle.Starting:
		return e.Service
	case *lifecycle.Started:
		return e.Service
	case *lifecycle.Crashed:
		return e.Service
	case *lifecycle.Exited:
		return e.Service
	case *lifecycle.Restarting:
		return e.Service
	case *lifecycle.GaveUp:
		return e.Service
	case *lifecycle.Stopping:
		return e.Service
	case *lifecycle.Stopped:
		return e.Service
	case *lifecycle.Stalled:
		return e.Service
	}
	return ""
}

// recorder keeps the row's service's events, in the order they came.
type recorder struct {
	mu     sync.Mutex
	events []lifecycle.Event
	notify chan struct{} // receives after each event, at most one pending
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) observe(e lifecycle.Event) {
	if serviceOf(e) != service || normalise(e) == "" {
		return
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// snapshot returns the events so far.
func (r *recorder) snapshot() []lifecycle.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]lifecycle.Event(nil), r.events...)
}

// trace returns the events so far, normalised.
func (r *recorder) trace() []string {
	var out []string
	for _, e := range r.snapshot() {
		out = append(out, normalise(e))
	}
	return out
}

// harness runs one row in one mode.
type harness struct {
	t    *testing.T
	mode modes.ExecutionMode
	a    *app.App
	rec  *recorder

	mu  sync.Mutex
	svc *scripted // the instance in this process; nil for a process mode
}

// newHarness builds the row's app in mode. In a child the same call
// builds the same app, which then runs only the service.
func newHarness(t *testing.T, mode modes.ExecutionMode, r row) *harness {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // after the app's stop: ends what was left running
	h := &harness{t: t, mode: mode, rec: newRecorder()}
	waits := lifecycle.DefaultSettings().With(r.opts...).WaitForReady
	ctor := newScripted(r.behaviour, waits, stateDir(t), release, func(s *scripted) {
		h.mu.Lock()
		h.svc = s
		h.mu.Unlock()
	})
	opts := []fx.Option{app.Test(t), fx.NopLogger, app.Observe(h.rec.observe), app.Service(service, ctor, mode, r.opts...)}
	// The test's app logs nowhere. A child keeps the default logger, as in
	// the app's own tests, unless the row says otherwise: it writes a
	// failure's report to stderr, where the parent reads it.
	if _, child := app.InChild(); !child || r.quietChild {
		opts = append(opts, app.Logger(zap.NewNop()))
	}
	h.a = app.New(opts...)
	require.NoError(t, h.a.Err())
	// A row that fails half-way leaves nothing running; Stop again does
	// nothing more.
	t.Cleanup(func() { _ = h.a.Stop(context.Background()) })
	return h
}

// stateDir returns the row's directory for what must outlive a process,
// the same in a child as here. The parent empties it, for -count: a row
// runs once at a time, as TestConformance is not parallel to itself.
func stateDir(t *testing.T) string {
	base := os.Getenv(stateEnv)
	require.NotEmpty(t, base, "TestMain sets %s", stateEnv)
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if _, child := app.InChild(); !child {
		require.NoError(t, os.RemoveAll(dir))
	}
	require.NoError(t, os.MkdirAll(dir, 0o700))
	return dir
}

// waitUntil waits until ok holds for the events so far, and returns them.
func (h *harness) waitUntil(what string, ok func([]lifecycle.Event) bool) []lifecycle.Event {
	h.t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		if events := h.rec.snapshot(); ok(events) {
			return events
		}
		select {
		case <-h.rec.notify:
		case <-deadline.C:
			h.t.Fatalf("%v: no %s within %v; events so far: %v", h.mode, what, patience, h.rec.trace())
		}
	}
}

// await waits for the n-th event, counting from 1, whose normalised form
// is want, and returns it.
func (h *harness) await(want string, n int) lifecycle.Event {
	h.t.Helper()
	var found lifecycle.Event
	h.waitUntil(fmt.Sprintf("%s number %d", want, n), func(events []lifecycle.Event) bool {
		seen := 0
		for _, e := range events {
			if normalise(e) == want {
				if seen++; seen == n {
					found = e
					return true
				}
			}
		}
		return false
	})
	return found
}

// trigger makes the run that started as the n-th successful Started act:
// SIGUSR1 to its child, or a send on the instance's channel.
func (h *harness) trigger(n int) {
	h.t.Helper()
	started := h.await("Started", n).(*lifecycle.Started)
	if h.mode.Process() {
		require.NotEqual(h.t, unix.Getpid(), started.PID, "a process-mode run is in a child")
		require.NoError(h.t, unix.Kill(started.PID, unix.SIGUSR1))
		return
	}
	h.mu.Lock()
	svc := h.svc
	h.mu.Unlock()
	svc.trigger <- syscall.SIGUSR1
}

// status returns the service's Status.
func (h *harness) status() lifecycle.Status {
	h.t.Helper()
	for _, st := range h.a.Status() {
		if st.Service == service {
			return st
		}
	}
	h.t.Fatalf("%v: no status for %q in %v", h.mode, service, h.a.Status())
	return lifecycle.Status{}
}

// awaitState polls the service's Status until it is in state.
func (h *harness) awaitState(state lifecycle.State) {
	h.t.Helper()
	deadline := time.Now().Add(patience)
	for h.status().State != state {
		if time.Now().After(deadline) {
			h.t.Fatalf("%v: state %v, not %v, after %v; events: %v", h.mode, h.status().State, state, patience, h.rec.trace())
		}
		time.Sleep(time.Millisecond)
	}
}

// context returns a context for a start or stop, bounded by patience.
func (h *harness) context() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	h.t.Cleanup(cancel)
	return ctx
}
