package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

const modesTick = time.Millisecond

// runHelper runs one scenario as the whole program and returns its exit
// code. app.Run exits the process itself on failures.
func runHelper(name string) int {
	switch name {
	case "mainthread":
		return mainThreadScenario()
	case "serve":
		app.New(
			app.Service("clock", leaf[[1]byte], modes.MainEventLoopAsync),
			app.Service("worker", child[[2]byte, [1]byte], modes.SeparateThread),
			app.Service("last", child[[3]byte, [2]byte], modes.SeparateThreadAsync),
		).Run()
	case "crash":
		app.New(
			app.Service("steady", leaf[[1]byte], modes.SeparateThread),
			app.Service("last", func() *crasher {
				c := &crasher{trigger: make(chan struct{}), how: "error"}
				close(c.trigger)
				return c
			}, modes.SeparateThread, lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Minute)),
		).Run()
	case "startfail":
		app.New(app.Service("broken", failingChild[[3]byte, [2]byte], modes.MainEventLoopAsync),
			app.Service("dep", child[[2]byte, [1]byte], modes.SeparateThread),
			app.Service("base", leaf[[1]byte], modes.SeparateThread),
		).Run()
	case "stoptimeout", "secondsignal":
		timeout := 50 * time.Millisecond
		if name == "secondsignal" {
			timeout = time.Hour
		}
		app.New(app.Service("last", func() *hung { return &hung{release: make(chan struct{})} },
			modes.SeparateThread, lifecycle.StopTimeout(timeout))).Run()
	case "procparent":
		procParentScenario()
	case "grandparent":
		app.New(app.ChildArgs(os.Args[1:]...), app.Service("gp", func(log *zap.Logger) *grandparent { return &grandparent{log} },
			modes.SeparateProcess, lifecycle.WaitForReady())).Run()
	case "hupparent":
		hupParentScenario()
	case "badbuild":
		app.New(app.Service("", leaf[[1]byte], modes.SeparateThread)).Run()
	case "printconfig":
		app.New(config.Module(config.Args([]string{"--print-config", "--services.worker.stop_timeout=3s"}), config.PrintConfigFlag()),
			app.Service("worker", leaf[[1]byte], modes.SeparateThread)).Run()
	default:
		fmt.Fprintf(os.Stderr, "unknown helper scenario %q\n", name)
		return 2
	}
	return 0
}

// mainThreadScenario posts 100,000 callbacks to the main loop from other
// goroutines and checks every one runs on the main OS thread.
func mainThreadScenario() int {
	var wrong atomic.Int64
	var onMain atomic.Bool
	app.New(
		app.Service("prober", func(sd fx.Shutdowner) *prober {
			return &prober{shutdown: sd, wrong: &wrong, onMain: &onMain}
		}, modes.MainEventLoopAsync),
	).Run()
	if !onMain.Load() || wrong.Load() != 0 {
		fmt.Printf("RunAsync on main thread: %v; callbacks off the main thread: %d\n", onMain.Load(), wrong.Load())
		return 3
	}
	fmt.Println("all callbacks ran on the main thread")
	return 0
}

type prober struct {
	shutdown fx.Shutdowner
	wrong    *atomic.Int64
	onMain   *atomic.Bool
}

func (p *prober) RunAsync(_ context.Context, loop modes.Loop) error {
	p.onMain.Store(unix.Gettid() == unix.Getpid())
	const posters, each = 4, 25_000
	remaining := posters * each
	var wg sync.WaitGroup
	for range posters {
		wg.Go(func() {
			for range each {
				loop.Post(func() {
					if unix.Gettid() != unix.Getpid() {
						p.wrong.Add(1)
					}
					if remaining--; remaining == 0 {
						_ = p.shutdown.Shutdown()
					}
				})
			}
		})
	}
	loop.Go(func(context.Context) error { wg.Wait(); return nil }, nil)
	return nil
}

// helperProc is a re-executed test binary running one scenario.
type helperProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	seen   strings.Builder
	stdout *strings.Builder // complete once wait returns
}

func startHelper(t *testing.T, name string, env ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+name, app.EnvLogFormat+"=json"), env...)
	cmd.WaitDelay = 10 * time.Second
	// A group of its own, as a program started from a terminal has, so a
	// test can signal the whole foreground group the way Ctrl-C does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	stdout := new(strings.Builder)
	cmd.Stdout = stdout
	require.NoError(t, cmd.Start())
	p := &helperProc{t: t, cmd: cmd, lines: make(chan string, 1024), stdout: stdout}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = p.wait()
		}
	})
	return p
}

// waitLog waits for a log line holding every one of parts.
func (p *helperProc) waitLog(parts ...string) string {
	p.t.Helper()
	giveUp := time.After(time.Minute) // a broken helper fails the test, not the whole run
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("helper ended without logging %q; it logged:\n%s", parts, p.seen.String())
			}
			p.seen.WriteString(line + "\n")
			if containsAll(line, parts) {
				return line
			}
		case <-p.t.Context().Done():
			p.t.Fatalf("no log line with %q; seen:\n%s", parts, p.seen.String())
		case <-giveUp:
			p.t.Fatalf("no log line with %q within a minute; seen:\n%s", parts, p.seen.String())
		}
	}
}

// wait waits for the helper to exit and returns its exit code and log.
func (p *helperProc) wait() (int, string) {
	for line := range p.lines {
		p.seen.WriteString(line + "\n")
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.t.Fatalf("wait: %v", err)
	}
	return p.cmd.ProcessState.ExitCode(), p.seen.String()
}

func (p *helperProc) signal(sig syscall.Signal) {
	require.NoError(p.t, p.cmd.Process.Signal(sig))
}

func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

func TestMainLoopRunsOnTheMainThread(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=mainthread", app.EnvLogFormat+"=json")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "all callbacks ran on the main thread")
}

func TestRunStopsCleanlyOnSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startHelper(t, "serve")
			p.waitLog(`"event":"started"`, `"service":"last"`)
			p.signal(sig)
			code, log := p.wait()
			assert.Equal(t, 0, code, log)
			stops := []string{`"service":"last"`, `"service":"worker"`, `"service":"clock"`}
			at := 0
			for _, line := range strings.Split(log, "\n") {
				if at < len(stops) && containsAll(line, []string{`"event":"stopped"`, stops[at]}) {
					at++
				}
			}
			assert.Equal(t, len(stops), at, "stopped in reverse order:\n%s", log)
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		scenario string
		signal   bool
		wantLog  []string
	}{
		{"crash", false, []string{`"event":"gave-up"`, `"service":"last"`, "boom from Run", `"restarts":2`}},
		{"startfail", false, []string{"app start failed", `service \"broken\"`, "no database"}},
		{"stoptimeout", true, []string{`"event":"detached"`, `"service":"last"`, "stop timed out after 50ms"}},
		{"badbuild", false, []string{"app build failed", "the name is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			p := startHelper(t, tt.scenario)
			if tt.signal {
				p.waitLog(`"event":"started"`, `"service":"last"`)
				p.signal(syscall.SIGTERM)
			}
			code, log := p.wait()
			assert.Equal(t, 1, code, log)
			assert.True(t, containsAll(log, tt.wantLog), "want %q in:\n%s", tt.wantLog, log)
		})
	}
}

// --print-config prints, and Run returns as after a clean stop, starting
// nothing and logging no failure.
func TestPrintConfigEndsRun(t *testing.T) {
	p := startHelper(t, "printconfig")
	code, log := p.wait()
	assert.Equal(t, 0, code, log)
	assert.Contains(t, p.stdout.String(), "services.worker.stop_timeout")
	assert.NotContains(t, log, "failed")
	assert.NotContains(t, log, `"event":"starting"`)
}

func TestSecondSignalForcesExit(t *testing.T) {
	p := startHelper(t, "secondsignal")
	p.waitLog(`"event":"started"`, `"service":"last"`)
	p.signal(syscall.SIGTERM)
	p.waitLog(`"event":"stopping"`, `"service":"last"`)
	p.signal(syscall.SIGINT)
	line := p.waitLog("second signal")
	assert.Contains(t, line, "last (stopping)")
	code, log := p.wait()
	assert.Equal(t, 1, code, log)
}
