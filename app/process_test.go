package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// processApp builds an fxtest app whose process-mode children re-run only
// the calling test. The parent logs to an observer; a child logs JSON to
// stderr, which the parent relays into that observer.
func processApp(t *testing.T, opts ...fx.Option) (*fxtest.App, *recorder, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	rec := newRecorder()
	base := []fx.Option{app.Test(t), fx.NopLogger, rec.option(), app.ChildHeartbeat(250 * time.Millisecond)}
	if _, child := app.InChild(); !child {
		base = append(base, app.Logger(zap.New(core)))
	}
	return fxtest.New(t, app.Module(append(base, opts...)...)), rec, logs
}

// childService misbehaves in the child as how says, once it gets SIGUSR1.
type childService struct {
	how string
	log *zap.Logger
}

func newChild(how string) func(*zap.Logger) *childService {
	return func(log *zap.Logger) *childService { return &childService{how: how, log: log} }
}

// asyncChild is a second service type, so one app can hold two children.
type asyncChild struct{ *childService }

func newAsyncChild(how string) func(*zap.Logger) *asyncChild {
	return func(log *zap.Logger) *asyncChild { return &asyncChild{&childService{how: how, log: log}} }
}

// trigger makes the child of service misbehave.
func trigger(t *testing.T, rec *recorder, service string) int {
	pid := waitFor[*lifecycle.Started](t, rec, service).PID
	require.NoError(t, unix.Kill(pid, unix.SIGUSR1))
	return pid
}

func (c *childService) Run(ctx context.Context) error {
	usr1, sigint := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	signal.Notify(sigint, syscall.SIGINT)
	defer signal.Stop(sigint)
	go func() {
		select {
		case <-sigint:
			c.log.Warn("child got SIGINT") // a child's group must keep Ctrl-C out
		case <-ctx.Done():
		}
	}()
	c.log.Info("hello from the child", zap.Int("answer", 42))
	if c.how != "neverready" {
		lifecycle.Ready(ctx)
	} else {
		c.log.Warn("never going to be ready")
		if os.Getenv(markerEnv) != "" {
			mark("said", "why it is not ready") // after the line is out
		}
	}
	select {
	case <-usr1:
	case <-ctx.Done():
		return nil
	}
	control := os.NewFile(3, "control")
	switch c.how {
	case "panic":
		panic("child panicked")
	case "fatal":
		var mu sync.Mutex
		mu.Unlock() // a fatal error: no recover can catch it
	case "exit3":
		os.Exit(3)
	case "logfatal":
		c.log.Fatal("cannot go on")
	case "closecontrol":
		_ = unix.Shutdown(3, unix.SHUT_RDWR)
		select {}
	case "norestart":
		return fmt.Errorf("finished: %w", lifecycle.ErrNoRestart)
	case "busy":
		c.log.Info("working")
		for ctx.Err() == nil { // mid-work: burning CPU when it is killed
			_ = fmt.Sprint(time.Now())
		}
		return nil
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		c.log.Info("ignoring SIGTERM")
		select {}
	case "garbage-length":
		_, _ = control.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3})
	case "garbage-random":
		_, _ = control.Write([]byte("\x00\x00\x00\x05\x2a random bytes"))
	case "garbage-truncated":
		_, _ = control.Write([]byte{0, 0, 0, 9, byte(proc.KindPing), 1})
		_ = unix.Shutdown(3, unix.SHUT_WR)
	}
	<-ctx.Done()
	return nil
}

func (c *childService) RunAsync(ctx context.Context, loop modes.Loop) error {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	loop.Post(func() {
		c.log.Info("hello from the child's loop", zap.Bool("main_thread", unix.Gettid() == unix.Getpid()))
	})
	loop.Go(func(ctx context.Context) error {
		select {
		case <-usr1:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, func(err error) {
		if err == nil && c.how == "deadlock" {
			go func() { // a goroutine that lives on while the loop is stuck
				for ctx.Err() == nil {
					time.Sleep(time.Millisecond)
				}
			}()
			select {} // the loop never gets control back
		}
	})
	return nil
}

func TestProcessModesRunInChildren(t *testing.T) {
	fxapp, rec, logs := processApp(t,
		app.Service("local", leaf[[1]byte], modes.SeparateThread),
		app.Service("blocking", newChild("idle"), modes.SeparateProcess, lifecycle.WaitForReady()),
		app.Service("async", newAsyncChild("idle"), modes.SeparateProcessAsync),
	)
	fxapp.RequireStart()
	pids := map[string]int{}
	for _, name := range []string{"local", "blocking", "async"} {
		pids[name] = waitFor[*lifecycle.Started](t, rec, name).PID
	}
	assert.Equal(t, os.Getpid(), pids["local"])
	assert.NotEqual(t, os.Getpid(), pids["blocking"])
	assert.NotEqual(t, os.Getpid(), pids["async"])
	assert.NotEqual(t, pids["blocking"], pids["async"])
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pids["blocking"]))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(cmdline), "hostfx: app.test blocking\x00"), "ps shows %q", cmdline)

	// The children's log lines reach this log stream, tagged and levelled.
	require.Eventually(t, func() bool {
		return logs.FilterMessage("hello from the child").FilterField(zap.String("service", "blocking")).Len() == 1 &&
			logs.FilterMessage("hello from the child's loop").FilterField(zap.String("service", "async")).Len() == 1
	}, time.Minute, 5*time.Millisecond)
	hello := logs.FilterMessage("hello from the child").FilterField(zap.String("service", "blocking")).All()[0]
	assert.Equal(t, zapcore.InfoLevel, hello.Level)
	assert.EqualValues(t, pids["blocking"], hello.ContextMap()["pid"])
	assert.EqualValues(t, 42, hello.ContextMap()["answer"])

	fxapp.RequireStop()
	assert.Equal(t, []string{"async", "blocking", "local"}, names[*lifecycle.Stopped](rec, nil))
	for _, s := range names[*lifecycle.Stopped](rec, nil) {
		assert.NoError(t, waitFor[*lifecycle.Stopped](t, rec, s).Err, s)
	}
}

type needsProcessValue struct{}

func (*needsProcessValue) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func TestDependingOnAProcessServiceIsABuildError(t *testing.T) {
	a := app.New(quiet(), fx.NopLogger, app.Test(t),
		app.Service("store", newChild("idle"), modes.SeparateProcess),
		app.Service("api", func(*childService) *needsProcessValue { return nil }, modes.SeparateThread),
	)
	err := a.Err()
	require.Error(t, err)
	assert.ErrorContains(t, err, `service "store" (SEPARATE_PROCESS)`)
	assert.ErrorContains(t, err, "it runs in a child process, so its value cannot be injected here")
}

func TestKilledChildIsACrashAndRestarts(t *testing.T) {
	for _, tt := range []struct {
		how  string
		mode modes.ExecutionMode
	}{{"idle", modes.SeparateProcess}, {"busy", modes.SeparateProcess}, {"idle", modes.SeparateProcessAsync}} {
		t.Run(tt.how+"/"+tt.mode.String(), func(t *testing.T) { testKilledChild(t, tt.how, tt.mode) })
	}
}

func testKilledChild(t *testing.T, how string, mode modes.ExecutionMode) {
	opts := []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate())}
	if !mode.Async() {
		opts = append(opts, lifecycle.WaitForReady())
	}
	fxapp, rec, logs := processApp(t, app.Service("victim", newChild(how), mode, opts...))
	fxapp.RequireStart()
	first := waitFor[*lifecycle.Started](t, rec, "victim").PID
	if how == "busy" {
		trigger(t, rec, "victim")
		require.Eventually(t, func() bool { return logs.FilterMessage("working").Len() > 0 }, time.Minute, time.Millisecond)
	}
	require.NoError(t, unix.Kill(first, unix.SIGKILL))

	crashed := waitFor[*lifecycle.Crashed](t, rec, "victim")
	assert.ErrorContains(t, crashed.Err, "signal: killed")
	assert.Equal(t, first, crashed.PID)
	require.Eventually(t, func() bool { return len(names(rec, succeeded)) == 2 }, time.Minute, time.Millisecond)
	st := fxapp.Err()
	require.NoError(t, st)
	fxapp.RequireStop()
}

func TestChildFailuresAreReported(t *testing.T) {
	tests := []struct {
		how  string
		mode modes.ExecutionMode
		want []string // in the crash error
		tail string   // in the crash report's stack
	}{
		{"panic", modes.SeparateProcess, []string{"exit status 1", "panic in (*app_test.childService).Run: child panicked"}, "child panicked"},
		{"fatal", modes.SeparateProcess, []string{"exit status 2"}, "fatal error: sync: unlock of unlocked mutex"},
		{"exit3", modes.SeparateProcess, []string{"exit status 3"}, ""},
		{"deadlock", modes.SeparateProcessAsync, []string{"hung: no heartbeat answer"}, "goroutine "},
		{"garbage-length", modes.SeparateProcess, []string{"signal: killed", "protocol error: frame length 4294967295"}, ""},
		{"garbage-random", modes.SeparateProcess, []string{"signal: killed", "protocol error: unknown frame kind 42"}, ""},
		{"garbage-truncated", modes.SeparateProcess, []string{"signal: killed", "protocol error: truncated frame"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.how, func(t *testing.T) {
			opts := []lifecycle.Option{lifecycle.Intensity(0, time.Minute)}
			if !tt.mode.Async() {
				opts = append(opts, lifecycle.WaitForReady())
			}
			fxapp, rec, _ := processApp(t, app.Service("bad", newChild(tt.how), tt.mode, opts...))
			fxapp.RequireStart()
			trigger(t, rec, "bad")
			crashed := waitFor[*lifecycle.Crashed](t, rec, "bad")
			for _, want := range tt.want {
				assert.ErrorContains(t, crashed.Err, want)
			}
			if tt.tail != "" {
				assert.Contains(t, string(crashed.Stack), tt.tail)
			}
			var ee *proc.ExitError
			require.ErrorAs(t, crashed.Err, &ee)
			assert.NotZero(t, ee.PID)
			assert.Equal(t, 1, (<-fxapp.Wait()).ExitCode, "the service gave up")
			fxapp.RequireStop()
		})
	}
}

func TestChildIgnoringSIGTERMIsKilled(t *testing.T) {
	fxapp, rec, logs := processApp(t,
		app.Service("stubborn", newChild("ignoreterm"), modes.SeparateProcess, lifecycle.WaitForReady(), lifecycle.StopTimeout(100*time.Millisecond)))
	fxapp.RequireStart()
	trigger(t, rec, "stubborn")
	require.Eventually(t, func() bool { return logs.FilterMessage("ignoring SIGTERM").Len() == 1 }, time.Minute, time.Millisecond)
	err := fxapp.Stop(context.Background())
	require.Error(t, err)
	assert.ErrorContains(t, err, "signal: killed")
	assert.ErrorContains(t, err, "did not stop within 100ms")
	stopped := waitFor[*lifecycle.Stopped](t, rec, "stubborn")
	assert.False(t, stopped.Detached, "a child can be killed, so it is never left behind")
}

func TestChildThatNeverGetsReady(t *testing.T) {
	// The start ends once the child has said why it is not ready, not when
	// a start timeout runs out, which a loaded machine could outrun.
	dir := os.Getenv(markerEnv)
	if _, child := app.InChild(); !child {
		dir = t.TempDir()
		t.Setenv(markerEnv, dir)
	}
	fxapp, rec, _ := processApp(t, app.Service("sleepy", newChild("neverready"), modes.SeparateProcess,
		lifecycle.WaitForReady(), lifecycle.StartTimeout(time.Hour), lifecycle.StopTimeout(100*time.Millisecond)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan error, 1)
	go func() { started <- fxapp.Start(ctx) }()
	require.Eventually(t, func() bool { return len(marks(t, dir, "said")) > 0 }, time.Minute, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-started, context.Canceled)
	// fx returns as soon as the context ends; the service's own report says
	// how its start ended.
	err := waitFor[*lifecycle.Started](t, rec, "sleepy").Err
	require.ErrorIs(t, err, context.Canceled)
	var ee *proc.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Contains(t, string(ee.Stderr), "never going to be ready", "the stderr tail is in the error")
	if pid := ee.PID; pid != 0 {
		assert.ErrorIs(t, unix.Kill(-pid, 0), unix.ESRCH, "the child's group is gone")
	}
}

func TestChildStderrFloodDoesNotBlock(t *testing.T) {
	if proc.Current() != nil {
		// In the child: write 100 MB to stderr, in lines longer than 64 KiB
		// and short ones, before the service starts.
		line := strings.Repeat("x", 100<<10) + "\n"
		for range 1000 {
			_, _ = os.Stderr.WriteString(line)
		}
	}
	fxapp, rec, _ := processApp(t, app.Service("flood", newChild("idle"), modes.SeparateProcess,
		lifecycle.WaitForReady(), lifecycle.StartTimeout(time.Minute)))
	fxapp.RequireStart()
	waitFor[*lifecycle.Started](t, rec, "flood")
	fxapp.RequireStop()
	assert.NoError(t, waitFor[*lifecycle.Stopped](t, rec, "flood").Err)
}

func TestProcessModeInATestNeedsAppTest(t *testing.T) {
	err := app.New(quiet(), fx.NopLogger, app.Service("store", newChild("idle"), modes.SeparateProcess)).Err()
	require.Error(t, err)
	assert.ErrorContains(t, err, `service "store" (SEPARATE_PROCESS)`)
	assert.ErrorContains(t, err, "pass app.Test(t) to the app")
}

func TestChildSaysDoNotRestart(t *testing.T) {
	fxapp, rec, _ := processApp(t, app.Service("oneshot", newChild("norestart"), modes.SeparateProcess, lifecycle.WaitForReady()))
	fxapp.RequireStart()
	trigger(t, rec, "oneshot")
	exited := waitFor[*lifecycle.Exited](t, rec, "oneshot")
	assert.ErrorIs(t, exited.Err, lifecycle.ErrNoRestart)
	assert.EqualError(t, exited.Err, "finished: do not restart")
	assert.Empty(t, names[*lifecycle.Restarting](rec, nil))
	fxapp.RequireStop()
}

func TestChildThatClosesItsChannelIsKilled(t *testing.T) {
	t.Setenv(proc.EnvIgnoreEOF, "1") // so the child runs on without its channel
	fxapp, rec, _ := processApp(t, app.Service("rogue", newChild("closecontrol"), modes.SeparateProcess,
		lifecycle.WaitForReady(), lifecycle.Intensity(0, time.Minute)))
	fxapp.RequireStart()
	trigger(t, rec, "rogue")
	crashed := waitFor[*lifecycle.Crashed](t, rec, "rogue")
	assert.ErrorContains(t, crashed.Err, "signal: killed: control channel closed while the child runs")
	fxapp.RequireStop()
}

func TestChildFatalLogDoesNotEndTheParent(t *testing.T) {
	fxapp, rec, logs := processApp(t, app.Service("doomed", newChild("logfatal"), modes.SeparateProcess,
		lifecycle.WaitForReady(), lifecycle.Intensity(0, time.Minute)))
	fxapp.RequireStart()
	trigger(t, rec, "doomed")
	waitFor[*lifecycle.Crashed](t, rec, "doomed")
	fatal := logs.FilterMessage("cannot go on").All()
	require.Len(t, fatal, 1, "the parent relayed the child's fatal line and lives on")
	assert.Equal(t, zapcore.ErrorLevel, fatal[0].Level)
	assert.Equal(t, "fatal", fatal[0].ContextMap()["child_level"])
	fxapp.RequireStop()
}
