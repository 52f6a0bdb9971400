package app_test

import (
	"context"
	"errors"
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
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// markerEnv names the directory where the processes of
// TestChildBuildsOnlyItsService leave their marks; a child inherits it.
const markerEnv = "HOSTFX_TEST_MARKS"

// mark appends this process's pid and what to a file in the marks
// directory.
func mark(file, what string) {
	f, err := os.OpenFile(filepath.Join(os.Getenv(markerEnv), file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	_, err = fmt.Fprintf(f, "%d %s\n", os.Getpid(), what)
	if err = errors.Join(err, f.Close()); err != nil {
		panic(err)
	}
}

func marks(t *testing.T, dir, file string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// notifier records, in its child, the service manager's socket it sees.
type notifier struct{}

func (notifier) Run(ctx context.Context) error {
	mark("service", "NOTIFY_SOCKET="+os.Getenv("NOTIFY_SOCKET"))
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

// A child builds its own service and what that needs: not the program's
// invokes, unless EveryProcess keeps them, and not the service manager's
// socket, which is the app's.
func TestChildBuildsOnlyItsService(t *testing.T) {
	dir := os.Getenv(markerEnv)
	if _, child := app.InChild(); !child {
		dir = t.TempDir()
		t.Setenv(markerEnv, dir)
		t.Setenv("NOTIFY_SOCKET", "@hostfx-test-notify")
	}
	rec := newRecorder()
	fxapp := fxtest.New(t, app.Module(app.Test(t), quiet(), fx.NopLogger, rec.option(),
		fx.Invoke(func() { mark("invoke", "plain") }),
		app.EveryProcess(fx.Invoke(func() { mark("every", "kept") })),
		app.Service("notifier", func(*zap.Logger) notifier { return notifier{} }, modes.SeparateProcess, lifecycle.WaitForReady()),
	))
	fxapp.RequireStart()
	child := waitFor[*lifecycle.Started](t, rec, "notifier").PID
	fxapp.RequireStop()

	assert.Equal(t, []string{fmt.Sprintf("%d plain", os.Getpid())}, marks(t, dir, "invoke"), "the child leaves out the program's invoke")
	assert.ElementsMatch(t, []string{fmt.Sprintf("%d kept", os.Getpid()), fmt.Sprintf("%d kept", child)}, marks(t, dir, "every"))
	assert.Equal(t, []string{fmt.Sprintf("%d NOTIFY_SOCKET=", child)}, marks(t, dir, "service"))
}

// spawner starts a process of its own, in a session of its own so that no
// process group holds it, and waits to be stopped.
type spawner struct{}

func (spawner) Run(ctx context.Context) error {
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	mark("spawned", strconv.Itoa(cmd.Process.Pid))
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

// What a process-mode service starts ends with it, even outside its
// process group, when the app stops it in the ordinary way.
func TestWhatAChildStartedEndsWithIt(t *testing.T) {
	dir := os.Getenv(markerEnv)
	if _, child := app.InChild(); !child {
		dir = t.TempDir()
		t.Setenv(markerEnv, dir)
	}
	fxapp := fxtest.New(t, app.Module(app.Test(t), quiet(), fx.NopLogger,
		app.Service("spawner", func() spawner { return spawner{} }, modes.SeparateProcess, lifecycle.WaitForReady()),
	))
	fxapp.RequireStart()
	lines := marks(t, dir, "spawned")
	require.Len(t, lines, 1)
	pid, err := strconv.Atoi(strings.Fields(lines[0])[1])
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, 0), "the sleep runs")
	fxapp.RequireStop()
	require.Eventually(t, func() bool {
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}, time.Minute, 5*time.Millisecond, "the sleep outlived its service")
}
