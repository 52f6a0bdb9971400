package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// swapWorker answers calls and connections with its child's pid; a call
// "slow" takes 20 ms. A blocking one fails to start while the file "fail"
// is in the marks directory, and is not ready while "hold" is there.
type swapWorker struct{ dir string }

func newSwapWorker() *swapWorker { return &swapWorker{dir: os.Getenv(markerEnv)} }

func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

func (w *swapWorker) Run(ctx context.Context) error {
	if exists(w.dir, "fail") {
		return errors.New("told to fail")
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for exists(w.dir, "hold") {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

func (w *swapWorker) RunAsync(context.Context, modes.Loop) error { return nil }

func (w *swapWorker) HandleCall(ctx context.Context, req []byte) ([]byte, error) {
	if string(req) == "slow" {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return strconv.AppendInt(nil, int64(os.Getpid()), 10), nil
}

func (w *swapWorker) ServeConn(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
		return
	}
	_, _ = fmt.Fprintf(conn, "%d\n", os.Getpid())
}

// swapApp runs the worker, in mode, with the marks directory set for its
// children, and returns the app and that directory.
func swapApp(t *testing.T, mode modes.ExecutionMode, opts ...lifecycle.Option) (*app.App, *recorder, string) {
	dir := os.Getenv(markerEnv)
	if _, child := app.InChild(); !child {
		dir = t.TempDir()
		t.Setenv(markerEnv, dir)
	}
	if !mode.Async() {
		opts = append(opts, lifecycle.WaitForReady())
	}
	rec := newRecorder()
	a := newApp(t, rec.option(), app.Test(t), app.Service("worker", newSwapWorker, mode, opts...))
	return a, rec, dir
}

// pidOf returns the PID of the service's child, from its status.
func pidOf(t *testing.T, sup *app.Supervisor, service string) int {
	t.Helper()
	for _, s := range sup.Status() {
		if s.Service == service {
			return s.PID
		}
	}
	t.Fatalf("no service %q", service)
	return 0
}

// load calls and dials a service from several goroutines until stopped,
// and keeps every failure and the pids that answered.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	answers  atomic.Int64
	mu       sync.Mutex
	failures []error
	pids     map[string]bool
}

func startLoad(sup *app.Supervisor, name string) *load {
	l := &load{stop: make(chan struct{}), pids: map[string]bool{}}
	work := []func() (string, error){
		func() (string, error) { return callPID(sup, name, "fast") },
		func() (string, error) { return callPID(sup, name, "fast") },
		func() (string, error) { return callPID(sup, name, "fast") },
		func() (string, error) { return callPID(sup, name, "slow") },
		func() (string, error) { return callPID(sup, name, "slow") },
		func() (string, error) { return dialPID(sup, name) },
	}
	for _, do := range work {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				pid, err := do()
				l.mu.Lock()
				if err != nil {
					l.failures = append(l.failures, err)
				} else {
					l.pids[pid] = true
				}
				l.mu.Unlock()
				l.answers.Add(1)
			}
		})
	}
	return l
}

// end stops the load and returns its failures and the pids that answered.
func (l *load) end() ([]error, map[string]bool) {
	close(l.stop)
	l.wg.Wait()
	return l.failures, l.pids
}

func callPID(sup *app.Supervisor, name, req string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := sup.Call(ctx, name, []byte(req))
	return string(resp), err
}

func dialPID(sup *app.Supervisor, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := sup.Dial(ctx, name)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	if _, err := fmt.Fprintln(conn, "pid?"); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// Twenty replacements under a steady load of calls, slow calls and
// connections fail none of them: each replacement starts a new child,
// switches to it and stops the old one once what it took is done. The
// service runs throughout, its status shows each new child, and no child
// is left behind.
func TestReplaceUnderLoadFailsNoCall(t *testing.T) {
	for _, mode := range []modes.ExecutionMode{modes.SeparateProcess, modes.SeparateProcessAsync} {
		t.Run(mode.String(), func(t *testing.T) {
			a, rec, _ := swapApp(t, mode)
			require.NoError(t, a.Start(t.Context()))
			l := startLoad(a.Supervisor, "worker")
			// The service's state, as a gateway reads it, stays running.
			watching, notRunning := make(chan struct{}), make(chan lifecycle.State, 1)
			var watch sync.WaitGroup
			watch.Go(func() {
				for {
					select {
					case <-watching:
						return
					default:
					}
					if st := a.Status()[0].State; st != lifecycle.StateRunning {
						select {
						case notRunning <- st:
						default:
						}
					}
				}
			})

			pids := []int{pidOf(t, a.Supervisor, "worker")}
			for i := range 20 {
				before := l.answers.Load()
				require.Eventually(t, func() bool { return l.answers.Load() > before+5 }, time.Minute, time.Millisecond,
					"calls go on between replacements")
				require.NoError(t, a.Replace(t.Context(), "worker"), "replacement %d", i+1)
				pid := pidOf(t, a.Supervisor, "worker")
				assert.NotContains(t, pids, pid, "replacement %d: a new child", i+1)
				assert.False(t, alive(pids[len(pids)-1]), "replacement %d: the old child has ended", i+1)
				pids = append(pids, pid)
			}
			before := l.answers.Load()
			require.Eventually(t, func() bool { return l.answers.Load() > before+5 }, time.Minute, time.Millisecond)
			failures, answered := l.end()
			close(watching)
			watch.Wait()
			assert.Empty(t, failures, "no call or connection failed")
			assert.Greater(t, len(answered), 10, "the children answered in turn: %v", answered)
			assert.True(t, answered[strconv.Itoa(pids[20])], "the last child answers")
			select {
			case st := <-notRunning:
				t.Errorf("the service was %v during a replacement", st)
			default:
			}

			replaced := names[*lifecycle.Replaced](rec, func(e *lifecycle.Replaced) bool { return e.Err == nil && e.OldPID != e.PID })
			assert.Len(t, replaced, 20)
			assert.Empty(t, names[*lifecycle.Crashed](rec, nil))
			assert.Zero(t, a.Status()[0].Restarts, "a replacement is no restart")
			require.NoError(t, a.Stop(t.Context()))
			for _, pid := range pids {
				assert.False(t, alive(pid), "child %d is left", pid)
			}
		})
	}
}

// A new child that fails to start leaves the old one serving: Replace
// says why, naming the service, and the status keeps it. Once the cause is
// gone, the next replacement succeeds.
func TestReplaceWhoseChildFailsKeepsTheOldOne(t *testing.T) {
	a, rec, dir := swapApp(t, modes.SeparateProcess)
	require.NoError(t, a.Start(t.Context()))
	old := pidOf(t, a.Supervisor, "worker")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fail"), nil, 0o600))

	err := a.Replace(t.Context(), "worker")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `app.Replace: service "worker" (SEPARATE_PROCESS): start: `)
	assert.Contains(t, err.Error(), "told to fail")
	assert.Contains(t, err.Error(), fmt.Sprintf("; the replacement did not take over, pid %d serves on", old))
	st := a.Status()[0]
	assert.Equal(t, lifecycle.StateRunning, st.State)
	assert.Equal(t, old, st.PID)
	require.Error(t, st.LastError)
	assert.Contains(t, st.LastError.Error(), "told to fail")
	assert.Len(t, startedPIDs(rec, "worker", true), 1, "the new child's start failed")
	resp, err := a.Call(t.Context(), "worker", nil)
	require.NoError(t, err, "the old child serves on")
	assert.Equal(t, strconv.Itoa(old), string(resp))

	require.NoError(t, os.Remove(filepath.Join(dir, "fail")))
	require.NoError(t, a.Replace(t.Context(), "worker"))
	assert.NotEqual(t, old, pidOf(t, a.Supervisor, "worker"))
	assert.False(t, alive(old))
	require.NoError(t, a.Stop(t.Context()))
}

// startedPIDs lists the pids of the service's children that started, or
// failed to (failed).
func startedPIDs(rec *recorder, service string, failed bool) []int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []int
	for _, e := range rec.events {
		if s, ok := e.(*lifecycle.Started); ok && s.Service == service && (s.Err != nil) == failed {
			out = append(out, s.PID)
		}
	}
	return out
}

// A replacement cut short before the switch, by its context or by the
// app's stop, ends the new child and leaves the old one: serving, or
// stopped with the app.
func TestReplaceCutShort(t *testing.T) {
	for _, by := range []string{"context", "stop"} {
		t.Run(by, func(t *testing.T) {
			a, rec, dir := swapApp(t, modes.SeparateProcess)
			require.NoError(t, a.Start(t.Context()))
			old := pidOf(t, a.Supervisor, "worker")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "hold"), nil, 0o600)) // the new child never gets ready

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			replaced := make(chan error, 1)
			go func() { replaced <- a.Replace(ctx, "worker") }()
			waitFor[*lifecycle.Replacing](t, rec, "worker")
			require.Eventually(t, func() bool { return len(names[*lifecycle.Starting](rec, nil)) == 2 },
				time.Minute, time.Millisecond, "the new child is on its way")
			switch by {
			case "context":
				cancel()
				err := <-replaced
				require.ErrorIs(t, err, context.Canceled)
				assert.Contains(t, err.Error(), `service "worker"`)
				assert.Equal(t, old, pidOf(t, a.Supervisor, "worker"))
				resp, err := a.Call(t.Context(), "worker", nil)
				require.NoError(t, err, "the old child serves on")
				assert.Equal(t, strconv.Itoa(old), string(resp))
				assert.NoError(t, a.Status()[0].LastError, "no failure of the service")
				require.NoError(t, a.Stop(t.Context()))
			case "stop":
				require.NoError(t, a.Stop(t.Context()))
				err := <-replaced
				require.Error(t, err)
				assert.Contains(t, err.Error(), `service "worker"`)
			}
			for _, pid := range append(startedPIDs(rec, "worker", true), old) {
				assert.False(t, alive(pid), "child %d is left", pid)
			}
			assert.Len(t, startedPIDs(rec, "worker", true), 1, "the new child's start failed")
		})
	}
}

// A second Replace while one is under way waits for it, then replaces the
// child that one started.
func TestConcurrentReplacesTakeTurns(t *testing.T) {
	a, rec, _ := swapApp(t, modes.SeparateProcess)
	require.NoError(t, a.Start(t.Context()))
	first := pidOf(t, a.Supervisor, "worker")
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- a.Replace(t.Context(), "worker") }()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	rec.mu.Lock()
	var chain []int
	for _, e := range rec.events {
		if r, ok := e.(*lifecycle.Replaced); ok {
			chain = append(chain, r.OldPID, r.PID)
		}
	}
	rec.mu.Unlock()
	require.Len(t, chain, 4)
	assert.Equal(t, first, chain[0])
	assert.Equal(t, chain[1], chain[2], "the second replaced the child the first started")
	assert.Equal(t, chain[3], pidOf(t, a.Supervisor, "worker"))
	assert.Len(t, startedPIDs(rec, "worker", false), 3)
	require.NoError(t, a.Stop(t.Context()))
	for _, pid := range chain {
		assert.False(t, alive(pid))
	}
}

// With replicas, Replace replaces each in turn, so the pool never has
// fewer running; calls to the pool all succeed meanwhile. A replica's own
// name replaces that one alone.
func TestReplaceReplicasOneAtATime(t *testing.T) {
	a, rec, _ := swapApp(t, modes.SeparateProcess, lifecycle.Replicas(3))
	require.NoError(t, a.Start(t.Context()))
	before := map[string]int{}
	for _, s := range a.Status() {
		before[s.Service] = s.PID
	}
	l := startLoad(a.Supervisor, "worker")
	watching, fewer := make(chan struct{}), make(chan string, 1)
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-watching:
				return
			default:
			}
			for _, s := range a.Status() {
				if s.State != lifecycle.StateRunning {
					select {
					case fewer <- fmt.Sprintf("%s was %v", s.Service, s.State):
					default:
					}
				}
			}
		}
	})
	require.NoError(t, a.Replace(t.Context(), "worker"))
	close(watching)
	watch.Wait()
	failures, _ := l.end()
	assert.Empty(t, failures)
	select {
	case what := <-fewer:
		t.Errorf("the pool lost a replica: %s", what)
	default:
	}
	var steps []string // one replica after another
	rec.mu.Lock()
	for _, e := range rec.events {
		switch e := e.(type) {
		case *lifecycle.Replacing:
			steps = append(steps, "replacing "+e.Service)
		case *lifecycle.Replaced:
			steps = append(steps, "replaced "+e.Service)
		}
	}
	rec.mu.Unlock()
	assert.Equal(t, []string{"replacing worker#1", "replaced worker#1", "replacing worker#2", "replaced worker#2",
		"replacing worker#3", "replaced worker#3"}, steps)
	after := map[string]int{}
	for _, s := range a.Status() {
		after[s.Service] = s.PID
		assert.NotEqual(t, before[s.Service], s.PID, s.Service)
		assert.False(t, alive(before[s.Service]), s.Service)
	}

	require.NoError(t, a.Replace(t.Context(), "worker#2"))
	for _, s := range a.Status() {
		if s.Service == "worker#2" {
			assert.NotEqual(t, after[s.Service], s.PID)
		} else {
			assert.Equal(t, after[s.Service], s.PID, "%s is left as it was", s.Service)
		}
	}
	require.NoError(t, a.Stop(t.Context()))
}

// Only a process-mode service's child can be replaced: a service in this
// process has one instance, and the error names its mode.
func TestReplaceRefusesWhatItCannotReplace(t *testing.T) {
	a := newApp(t, app.Test(t),
		app.Service("local", newSwapWorker, modes.SeparateThread),
		app.Service("child", newSwapWorker, modes.SeparateProcess),
	)
	err := a.Replace(t.Context(), "local")
	assert.ErrorIs(t, err, app.ErrNotReplaceable)
	assert.EqualError(t, err, `app.Replace: service "local" (SEPARATE_THREAD) runs in this process and has one instance; `+
		`only a process-mode service's child can be replaced: cannot be replaced`)
	err = a.Replace(t.Context(), "nobody")
	assert.ErrorIs(t, err, app.ErrNotReplaceable)
	assert.EqualError(t, err, `app.Replace: no service is called "nobody": cannot be replaced`)
	assert.EqualError(t, a.Replace(t.Context(), "child"),
		`app.Replace: service "child" (SEPARATE_PROCESS): replace while idle: only a running service can be replaced`)

	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	assert.EqualError(t, a.Replace(t.Context(), "child"),
		`app.Replace: service "child" (SEPARATE_PROCESS): replace while stopped: only a running service can be replaced`)

	broken := app.New(quiet(), fx.NopLogger, app.Service("", newSwapWorker, modes.SeparateProcess))
	assert.ErrorContains(t, broken.Replace(t.Context(), "child"), `app.Replace: service "child": `)
}
