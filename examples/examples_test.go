package examples_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds each wait on an example: for its services to start and
// beat once, and for it to exit after SIGTERM.
const patience = 30 * time.Second

// logLine holds the fields of a JSON log line that the tests look at.
type logLine struct {
	Level    string  `json:"level"`
	Msg      string  `json:"msg"`
	Event    string  `json:"event"`
	Service  string  `json:"service"`
	Mode     string  `json:"mode"`
	PID      int     `json:"pid"`
	TID      int     `json:"tid"`
	PPID     int     `json:"ppid"`
	Attempt  int     `json:"attempt"`
	Delay    float64 `json:"delay"` // seconds
	Restarts int     `json:"restarts"`
	Error    string  `json:"error"`
	Worker   string  `json:"worker_beats"` // examples/modes: the cruncher's call to the worker
	Addr     string  `json:"addr"`         // examples/gateway: where the gateway and ops listen

	raw string
}

func TestExamples(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	tests := []struct {
		give       string   // the example's directory
		wantStarts []string // its services, in the order they must start
	}{
		{give: "hello", wantStarts: []string{"greeter"}},
		{give: "modes", wantStarts: []string{"pulse", "worker", "cruncher", "reporter", "watcher"}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()
			bin := build(t, goTool, tt.give)
			p := start(t, bin)

			// Every service starts, in order, and then logs on its own.
			started := p.await(t, func(seen []logLine) bool {
				for _, name := range tt.wantStarts {
					if !slices.ContainsFunc(seen, isBeat(name)) {
						return false
					}
				}
				return true
			})
			require.Equal(t, tt.wantStarts, services(started, "started"), "start order")
			checkThreads(t, started)
			children := checkProcesses(t, started, p.cmd.Process.Pid)
			if tt.give == "modes" { // the cruncher calls the worker in its child
				p.await(t, func(seen []logLine) bool {
					return slices.ContainsFunc(seen, func(l logLine) bool { return l.Service == "cruncher" && l.Worker != "" })
				})
			}

			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			all, exitErr := p.finish(t)
			require.NoError(t, exitErr, "want exit code 0 after SIGTERM; stderr:\n%s", transcript(all))
			assert.Equal(t, reversed(tt.wantStarts), services(all, "stopped"), "stop order")
			for _, l := range all {
				assert.NotEqual(t, "error", l.Level, "error logged: %s", l.raw)
				assert.NotEmpty(t, l.Level, "a line that is not JSON: %s", l.raw)
				assert.NotEqual(t, "restarting", l.Event, "a restart: %s", l.raw)
			}
			for service, pid := range children {
				assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the child of %s outlived the example", service)
			}
		})
	}
}

// TestRestartsExample runs examples/restarts, whose service fails on every
// run: it restarts with growing delays, gives up, and the app exits 1.
func TestRestartsExample(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	t.Parallel()
	p := start(t, build(t, goTool, "restarts"))
	all, exitErr := p.finish(t)

	var ee *exec.ExitError
	require.ErrorAs(t, exitErr, &ee, "want a non-zero exit; stderr:\n%s", transcript(all))
	assert.Equal(t, 1, ee.ExitCode())

	var delays []float64
	for i, l := range events(all, "restarting") {
		assert.Equal(t, "uplink", l.Service)
		assert.Equal(t, i+1, l.Attempt)
		assert.Contains(t, l.Error, "connection refused")
		delays = append(delays, l.Delay)
	}
	for i := 1; i < len(delays); i++ {
		assert.Greater(t, delays[i], delays[i-1], "restart delays grow: %v", delays)
	}
	// Exponential from 100ms, no jitter, 4 restarts allowed.
	assert.Equal(t, []float64{0.1, 0.2, 0.4, 0.8}, delays, "restart delays")

	gaveUp := events(all, "gave-up")
	require.Len(t, gaveUp, 1, "stderr:\n%s", transcript(all))
	assert.Equal(t, "uplink", gaveUp[0].Service)
	assert.Equal(t, 4, gaveUp[0].Restarts)
	assert.Equal(t, []string{"clock"}, services(all, "stopped"), "the rest of the app stops")
	i := slices.IndexFunc(all, func(l logLine) bool { return l.Msg == "app failed" })
	require.GreaterOrEqual(t, i, 0, "no app failed line; stderr:\n%s", transcript(all))
	assert.Contains(t, all[i].Error, `service "uplink" (SEPARATE_THREAD) gave up`)
}

// Echo runs in a child process in TestProcessServiceUnderFxtest, which
// docs/testing.md quotes.
type Echo struct{ log *zap.Logger }

func NewEcho(log *zap.Logger) *Echo { return &Echo{log: log} }

func (e *Echo) Run(ctx context.Context) error {
	e.log.Info("echo is up", zap.Int("pid", os.Getpid()))
	<-ctx.Done()
	return nil
}

func TestProcessServiceUnderFxtest(t *testing.T) {
	started := make(chan *lifecycle.Started, 1)
	fxapp := fxtest.New(t,
		app.Module(
			app.Test(t), // the child re-runs only this test, to rebuild this app
			fx.NopLogger,
			app.Observe(func(e lifecycle.Event) {
				if s, ok := e.(*lifecycle.Started); ok && s.Service == "echo" {
					select {
					case started <- s:
					default:
					}
				}
			}),
			app.Service("echo", NewEcho, modes.SeparateProcess),
		))
	fxapp.RequireStart()
	defer fxapp.RequireStop()

	s := <-started
	assert.NoError(t, s.Err)
	assert.NotEqual(t, os.Getpid(), s.PID, "echo runs in a child process")
}

// build compiles the example in dir into a temporary directory, with the
// race detector when this test runs with it.
func build(t *testing.T, goTool, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), dir)
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	out, err := exec.Command(goTool, append(args, "./"+dir)...).CombinedOutput()
	require.NoError(t, err, "go build ./%s:\n%s", dir, out)
	return bin
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// proc is a running example whose stderr is read line by line.
type proc struct {
	cmd   *exec.Cmd
	lines chan logLine // closed at the end of stderr
	seen  []logLine
	done  bool
}

// start runs bin with args and JSON logs on a pipe. If the test ends
// early, the process is killed and reaped, so nothing outlives the test.
func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOSTFX_LOG_FORMAT=json", "HOSTFX_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	p := &proc{cmd: cmd, lines: make(chan logLine)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l := logLine{raw: sc.Text()}
			_ = json.Unmarshal(sc.Bytes(), &l) // a non-JSON line keeps an empty Level
			p.lines <- l
		}
	}()
	t.Cleanup(func() {
		if p.done {
			return
		}
		_ = cmd.Process.Kill()
		for range p.lines {
		}
		_ = cmd.Wait()
	})
	return p
}

// await reads lines until ready says the lines seen so far are enough, and
// returns them. It fails the test if stderr ends or patience runs out first.
func (p *proc) await(t *testing.T, ready func([]logLine) bool) []logLine {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for !ready(p.seen) {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("the example ended early; stderr:\n%s", transcript(p.seen))
			}
			p.seen = append(p.seen, l)
		case <-deadline.C:
			t.Fatalf("still waiting after %v; stderr so far:\n%s", patience, transcript(p.seen))
		}
	}
	return p.seen
}

// finish reads stderr to its end, waits for the process and returns every
// line it logged and how it exited. It fails the test if that takes longer
// than patience.
func (p *proc) finish(t *testing.T) ([]logLine, error) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.done = true
				return p.seen, p.cmd.Wait()
			}
			p.seen = append(p.seen, l)
		case <-deadline.C:
			t.Fatalf("no exit after %v; stderr so far:\n%s", patience, transcript(p.seen))
		}
	}
}

// isBeat matches a line a service logged itself, rather than the framework
// logging about it.
func isBeat(service string) func(logLine) bool {
	return func(l logLine) bool { return l.Service == service && l.Event == "" }
}

// services lists, in order, the services named by lifecycle events of one
// kind, each once: a child process logs its own lifecycle events, which
// reach the example's log next to the example's events about that child.
func services(lines []logLine, event string) []string {
	var out []string
	for _, l := range events(lines, event) {
		if !slices.Contains(out, l.Service) {
			out = append(out, l.Service)
		}
	}
	return out
}

// events returns, in order, the lifecycle events of one kind.
func events(lines []logLine, event string) []logLine {
	var out []logLine
	for _, l := range lines {
		if l.Event == event {
			out = append(out, l)
		}
	}
	return out
}

func isProcessMode(mode string) bool {
	return mode == "SEPARATE_PROCESS" || mode == "SEPARATE_PROCESS_ASYNC"
}

// checkThreads checks where each in-process mode put its service: the main
// event loop on the process's main thread, every other service on a thread
// of its own.
func checkThreads(t *testing.T, lines []logLine) {
	t.Helper()
	threads := map[int]string{}
	for _, l := range lines {
		if l.Event != "started" || isProcessMode(l.Mode) {
			continue
		}
		if l.Mode == "MAIN_EVENT_LOOP_ASYNC" {
			assert.Equal(t, l.PID, l.TID, "%s runs on the main thread", l.Service)
			continue
		}
		assert.NotEqual(t, l.PID, l.TID, "%s (%s) is off the main thread", l.Service, l.Mode)
		if other, taken := threads[l.TID]; taken {
			t.Errorf("%s and %s share thread %d", l.Service, other, l.TID)
		}
		threads[l.TID] = l.Service
	}
}

// checkProcesses checks where the process modes put their services, from
// the services' own heartbeats: each in a child process of its own whose
// parent is the example, SEPARATE_PROCESS_ASYNC on that child's main
// thread. It returns the children's pids by service.
func checkProcesses(t *testing.T, lines []logLine, parent int) map[string]int {
	t.Helper()
	modeOf := map[string]string{}
	for _, l := range events(lines, "started") {
		modeOf[l.Service] = l.Mode
	}
	children := map[string]int{}
	for _, l := range lines {
		mode := modeOf[l.Service]
		if !isProcessMode(mode) || !isBeat(l.Service)(l) {
			continue
		}
		assert.NotEqual(t, parent, l.PID, "%s (%s) runs in a child process", l.Service, mode)
		assert.Equal(t, parent, l.PPID, "%s (%s) is a child of the example", l.Service, mode)
		// Under App.Run, the child's main thread runs the main loop, or lends
		// itself to a SEPARATE_PROCESS service's Run.
		assert.Equal(t, l.PID, l.TID, "%s runs on its child's main thread", l.Service)
		children[l.Service] = l.PID
	}
	pids := map[int]string{}
	for service, pid := range children {
		if other, taken := pids[pid]; taken {
			t.Errorf("%s and %s share process %d", service, other, pid)
		}
		pids[pid] = service
	}
	return children
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func transcript(lines []logLine) string {
	var b []byte
	for _, l := range lines {
		b = append(append(b, l.raw...), '\n')
	}
	if len(b) == 0 {
		return "(nothing)"
	}
	return string(b)
}
