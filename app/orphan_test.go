package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// procParentScenario is a whole program whose one service runs in a child.
func procParentScenario() {
	app.New(app.ChildArgs(os.Args[1:]...),
		app.Service("worker", newChild("idle"), modes.SeparateProcess, lifecycle.WaitForReady())).Run()
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	state, _, ok := procState(pid)
	return ok && state != "Z"
}

// procState reads a process's state (R, S, Z...) and its parent's pid
// from /proc; ok is false when there is no such process.
func procState(pid int) (state string, ppid int, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// After the command name, in parentheses: the state, then the
	// parent's pid.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	return fields[0], ppid, true
}

// childPID reads the child's pid from the parent's started event.
func childPID(t *testing.T, p *helperProc, service string) int {
	line := p.waitLog(`"event":"started"`, `"service":"`+service+`"`)
	var entry struct{ PID int }
	require.NoError(t, json.Unmarshal([]byte(line), &entry))
	require.NotZero(t, entry.PID)
	return entry.PID
}

func TestChildDiesWithItsParent(t *testing.T) {
	// Orphans are re-parented to this process, so it can reap them.
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	t.Cleanup(func() { assert.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)) })

	for _, tt := range []struct {
		name string
		env  []string
	}{
		{"control channel EOF", nil},
		{"parent-death signal alone", []string{proc.EnvIgnoreEOF + "=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := startHelper(t, "procparent", tt.env...)
			child := childPID(t, p, "worker")
			require.True(t, alive(child))
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
			_, _ = p.wait()

			deadline := time.Now().Add(time.Second)
			for alive(child) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			assert.False(t, alive(child), "the child outlived its parent by a second")
			var ws unix.WaitStatus
			_, _ = unix.Wait4(child, &ws, 0, nil) // reap it
		})
	}
}

// grandparent spawns a grandchild that holds its stdout and stderr.
type grandparent struct{ log *zap.Logger }

func (g *grandparent) Run(ctx context.Context) error {
	cmd := exec.Command("sleep", "600")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	g.log.Info("grandchild started", zap.Int("grandchild", cmd.Process.Pid))
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

// Whatever a process-mode service started is gone soon after a SIGKILL of
// the app itself, which nothing can catch: the child notices its parent's
// death and ends what it started.
func TestGrandchildDiesWithTheApp(t *testing.T) {
	// Orphans are re-parented to this process, so it can reap them.
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	t.Cleanup(func() { assert.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)) })
	p := startHelper(t, "grandparent")
	// The child's line and the app's started event travel apart, and come
	// in either order.
	var entry struct{ Grandchild, PID int }
	var started bool
	for entry.Grandchild == 0 || !started {
		line := p.waitLog(`"service":"gp"`)
		switch {
		case strings.Contains(line, "grandchild started"):
			var gc struct{ Grandchild int }
			require.NoError(t, json.Unmarshal([]byte(line), &gc))
			entry.Grandchild = gc.Grandchild
		case strings.Contains(line, `"event":"started"`):
			var ev struct{ PID int }
			require.NoError(t, json.Unmarshal([]byte(line), &ev))
			entry.PID, started = ev.PID, true
		}
	}
	child := entry.PID
	require.NotZero(t, child)
	require.True(t, alive(entry.Grandchild))

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	_, _ = p.wait()
	deadline := time.Now().Add(2 * time.Second)
	for (alive(entry.Grandchild) || alive(child)) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.False(t, alive(child), "the child outlived the app by 2 s")
	assert.False(t, alive(entry.Grandchild), "what the service started outlived the app by 2 s")
	for _, pid := range []int{child, entry.Grandchild} {
		reap(t, pid)
	}
}

// reap waits for pid to be gone, reaping it if it came to this process, a
// subreaper: an orphan whose parent ends after it may come to us as a
// zombie a little later, and a zombie whose other threads still end
// cannot be reaped at once; either would be counted as one we left.
func reap(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var ws unix.WaitStatus
		if got, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); got == pid {
			return
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return // gone: its own parent reaped it
		}
		time.Sleep(time.Millisecond)
	}
	t.Errorf("process %d neither gone nor reaped", pid)
}

func TestGrandchildDiesWithTheGroup(t *testing.T) {
	fxapp, rec, logs := processApp(t, app.Service("gp", func(log *zap.Logger) *grandparent { return &grandparent{log} },
		modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.Intensity(0, time.Minute)))
	fxapp.RequireStart()
	pid := waitFor[*lifecycle.Started](t, rec, "gp").PID
	require.Eventually(t, func() bool { return logs.FilterMessage("grandchild started").Len() == 1 }, time.Minute, time.Millisecond)
	grandchild := int(logs.FilterMessage("grandchild started").All()[0].ContextMap()["grandchild"].(int64))

	require.NoError(t, unix.Kill(pid, unix.SIGKILL))
	crashed := waitFor[*lifecycle.Crashed](t, rec, "gp")
	assert.ErrorContains(t, crashed.Err, "signal: killed")
	require.Eventually(t, func() bool { return !alive(grandchild) }, 10*time.Second, time.Millisecond,
		"the grandchild dies with the child's group")
	fxapp.RequireStop()
}

// fdChecker reports, from the child, every descriptor beyond 0-3 that was
// not opened close-on-exec: one the child inherited. The runtime's own
// descriptors (epoll, cgroup files) are opened close-on-exec.
type fdChecker[K any] struct{ log *zap.Logger }

func newFDChecker[K any](log *zap.Logger) *fdChecker[K] { return &fdChecker[K]{log} }

func (c *fdChecker[K]) Run(ctx context.Context) error {
	entries, _ := os.ReadDir("/proc/self/fd")
	var extra []string
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if fd < 3 || err != nil || flags&unix.FD_CLOEXEC != 0 { // the control channel too: a child's own children must not get it
			continue
		}
		extra = append(extra, fmt.Sprintf("%d -> %s", fd, target))
	}
	c.log.Info("descriptors", zap.Strings("extra", extra))
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

func TestChildrenSeeOnlyTheirOwnDescriptors(t *testing.T) {
	fxapp, rec, logs := processApp(t,
		app.Service("c1", newFDChecker[[1]byte], modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.Restart(lifecycle.Immediate())),
		app.Service("c2", newFDChecker[[2]byte], modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.Restart(lifecycle.Immediate())),
		app.Service("c3", newFDChecker[[3]byte], modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.Restart(lifecycle.Immediate())),
		app.Service("c4", newFDChecker[[4]byte], modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.Restart(lifecycle.Immediate())),
	)
	fxapp.RequireStart()
	pids := map[string]int{}
	for _, n := range []string{"c1", "c2", "c3", "c4"} {
		pids[n] = waitFor[*lifecycle.Started](t, rec, n).PID
	}

	// One child's death is news for its own service only.
	require.NoError(t, unix.Kill(pids["c2"], unix.SIGKILL))
	waitFor[*lifecycle.Crashed](t, rec, "c2")
	for _, n := range []string{"c1", "c3", "c4"} {
		assert.True(t, alive(pids[n]), n)
	}

	// Kill the rest at once, so their replacements are spawned side by side.
	for _, n := range []string{"c1", "c3", "c4"} {
		require.NoError(t, unix.Kill(pids[n], unix.SIGKILL))
	}
	require.Eventually(t, func() bool { return len(names(rec, succeeded)) == 8 }, time.Minute, time.Millisecond)
	assert.Len(t, names[*lifecycle.Crashed](rec, nil), 4)

	// A child's log line is relayed from its stderr, apart from its start
	// report on the control channel, and may come after it.
	require.Eventually(t, func() bool { return logs.FilterMessage("descriptors").Len() >= 8 }, time.Minute, time.Millisecond)
	checks := logs.FilterMessage("descriptors").All()
	require.Len(t, checks, 8)
	for _, c := range checks {
		assert.Empty(t, c.ContextMap()["extra"], "service %v inherited descriptors", c.ContextMap()["service"])
	}
	fxapp.RequireStop()
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}

// zombies lists this process's children that exited and were not reaped.
func zombies(t *testing.T) []int {
	return childrenIn(t, func(state string) bool { return state == "Z" })
}

func TestManyStartStopCyclesLeaveNothingBehind(t *testing.T) {
	const cycles = 1000
	var fdsBefore int
	for i := range cycles {
		fxapp, _, _ := processApp(t, app.Service("cycled", newChild("idle"), modes.SeparateProcess, lifecycle.WaitForReady()))
		fxapp.RequireStart()
		fxapp.RequireStop()
		if i == 0 {
			fdsBefore = openFDs(t) // after the first cycle has warmed up the runtime
		}
	}
	assert.LessOrEqual(t, openFDs(t), fdsBefore, "descriptors leaked")
	assert.Empty(t, zombies(t), "children left unreaped")
	// goleak.VerifyTestMain checks the goroutines when the package ends.
}

func TestCtrlCReachesOnlyTheParentWhichStopsTheChildInOrder(t *testing.T) {
	p := startHelper(t, "procparent")
	child := childPID(t, p, "worker")
	// What a terminal does on Ctrl-C: SIGINT to the whole foreground group.
	require.NoError(t, unix.Kill(-p.cmd.Process.Pid, unix.SIGINT))
	p.waitLog(`"event":"stopping"`, `"service":"worker"`)
	line := p.waitLog(`"event":"stopped"`, `"service":"worker"`)
	assert.NotContains(t, line, `"error"`, "the child stopped in order, not by the signal")
	code, log := p.wait()
	assert.Equal(t, 0, code, log)
	assert.NotContains(t, log, "child got SIGINT")
	assert.False(t, alive(child))
}
