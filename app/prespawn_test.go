package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// chained is a process service that comes after the one whose Client it
// takes; "p-fail" fails its start in its child.
type chained struct{ name string }

func (c *chained) Run(ctx context.Context) error {
	if c.name == "p-fail" {
		return errors.New("cannot open its store")
	}
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

// chain registers process services p0..p(n-1), each depending on the one
// before it; the one at fail, if any, is "p-fail". In the parent, process
// services start in the order they are registered in, which their
// dependencies on each other's Clients must follow (a child builds only
// its own service).
func chain(n, fail int) (fx.Option, []string) {
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprint("p", i)
		if i == fail {
			names[i] = "p-fail"
		}
	}
	opts := make([]fx.Option, 0, n)
	for i := range n {
		name := names[i]
		var ctor any = func() *chained { return &chained{name} }
		if i > 0 {
			ctor = fx.Annotate(func(*app.Client) *chained { return &chained{name} }, fx.ParamTags(fmt.Sprintf("name:%q", names[i-1])))
		}
		opts = append(opts, app.Service(name, ctor, modes.SeparateProcess, lifecycle.WaitForReady(),
			lifecycle.RestartPolicy(lifecycle.Never)))
	}
	return fx.Options(opts...), names
}

// children lists this process's live children.
func children(t *testing.T) []int {
	t.Helper()
	return childrenIn(t, func(state string) bool { return state != "Z" })
}

// childrenIn lists this process's children whose state (R, S, Z...) keep
// keeps.
func childrenIn(t *testing.T, keep func(state string) bool) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, ok := procState(pid); ok && keep(state) && ppid == os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

// noChildren waits until this process has no live child left.
func noChildren(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return len(children(t)) == 0 }, 10*time.Second, 5*time.Millisecond,
		"children left: %v", children(t))
}

// spareLaunches lists the services launched from a spare child, and the
// PIDs, from the parent's log.
func spareLaunches(logs *observer.ObservedLogs) (services []string, pids []int) {
	for _, e := range logs.FilterMessage("launched from a spare child").All() {
		services = append(services, e.ContextMap()["service"].(string))
		pids = append(pids, int(e.ContextMap()["pid"].(int64)))
	}
	return services, pids
}

func TestProcessServicesStartInOrderFromChildrenSpawnedAhead(t *testing.T) {
	services, names := chain(16, -1)
	fxapp, rec, logs := processApp(t, services)
	fxapp.RequireStart()
	assert.Equal(t, names, startedNames(rec), "services started out of dependency order")
	launched, _ := spareLaunches(logs)
	assert.ElementsMatch(t, names, launched, "services that did not start from a child spawned ahead")
	fxapp.RequireStop()
	assert.Equal(t, reversed(names), eventNames[*lifecycle.Stopped](rec), "stop order")
	noChildren(t)
}

func TestFailedStartFromChildrenSpawnedAheadLeavesNone(t *testing.T) {
	services, names := chain(6, 3)
	fxapp, rec, _ := processApp(t, services)
	err := fxapp.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"p-fail"`)
	assert.Contains(t, err.Error(), "cannot open its store")
	assert.Equal(t, names[:3], startedNames(rec), "started before the failure")
	failed := waitFor[*lifecycle.Started](t, rec, "p-fail")
	require.Error(t, failed.Err, "the failure is not p-fail's")
	assert.Contains(t, failed.Err.Error(), "cannot open its store")
	// The children held for p4 and p5, which never started, end too.
	noChildren(t)
}

func TestCrashRestartsFromTheWarmSpare(t *testing.T) {
	fxapp, rec, logs := processApp(t, app.Service("warm", newChild("exit3"), modes.SeparateProcess,
		lifecycle.WarmSpare(), lifecycle.Restart(lifecycle.Immediate())))
	fxapp.RequireStart()
	first := waitFor[*lifecycle.Started](t, rec, "warm").PID
	spare := otherChild(t, first)
	require.NoError(t, unix.Kill(first, unix.SIGUSR1)) // it exits 3: a crash

	var restarted int
	require.Eventually(t, func() bool {
		pids := startedPIDs(rec, "warm", false)
		if len(pids) < 2 {
			return false
		}
		restarted = pids[1]
		return true
	}, 20*time.Second, 5*time.Millisecond, "no restart")
	assert.Equal(t, spare, restarted, "the restart did not take the spare")
	_, pids := spareLaunches(logs)
	assert.Contains(t, pids, spare, "the log does not say the spare was launched")
	next := otherChild(t, restarted) // the spare of the next restart
	assert.NotEqual(t, spare, next)
	fxapp.RequireStop()
	noChildren(t)
}

// otherChild waits until this process has a live child other than pid,
// and returns it.
func otherChild(t *testing.T, pid int) int {
	t.Helper()
	var other int
	require.Eventually(t, func() bool {
		kids := slices.DeleteFunc(children(t), func(p int) bool { return p == pid })
		if len(kids) == 0 {
			return false
		}
		other = kids[0]
		return len(kids) == 1
	}, 20*time.Second, 5*time.Millisecond, "no spare child beside %d", pid)
	return other
}

func startedNames(rec *recorder) []string {
	return names(rec, func(e *lifecycle.Started) bool { return e.Err == nil })
}

func eventNames[E lifecycle.Event](rec *recorder) []string {
	return names(rec, func(E) bool { return true })
}

func TestReplaceTakesTheWarmSpare(t *testing.T) {
	a, _, _ := swapApp(t, modes.SeparateProcess, lifecycle.WarmSpare())
	require.NoError(t, a.Start(t.Context()))
	old := pidOf(t, a.Supervisor, "worker")
	spare := otherChild(t, old)
	require.NoError(t, a.Replace(t.Context(), "worker"))
	assert.Equal(t, spare, pidOf(t, a.Supervisor, "worker"), "the replacement did not take the spare")
	otherChild(t, spare) // the next spare, and the old child is gone
	require.NoError(t, a.Stop(t.Context()))
	noChildren(t)
}
