package proc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

// goneWithin bounds how long a test waits for processes to die. It is no
// promise about speed, only a guard against hanging.
const goneWithin = 30 * time.Second

// alive reports whether pid is a live process; a zombie is dead.
func alive(pid int) bool {
	_, live := parentOf(pid)
	return live
}

// pids matches the line a real test child writes about itself.
var pids = regexp.MustCompile(`child (\d+) grandchild (\d+)`)

func parsePIDs(t *testing.T, line string) (child, grandchild int) {
	m := pids.FindStringSubmatch(line)
	require.NotNil(t, m, line)
	child, _ = strconv.Atoi(m[1])
	grandchild, _ = strconv.Atoi(m[2])
	t.Cleanup(func() { _ = unix.Kill(grandchild, unix.SIGKILL) }) // whatever the test found
	return child, grandchild
}

// requireGone polls until none of pids is alive.
func requireGone(t *testing.T, what string, pids ...int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	}, goneWithin, time.Millisecond, what)
}

func TestNothingOfAChildOutlivesAKilledApp(t *testing.T) {
	app := exec.Command(os.Args[0], "-test.run=^$")
	app.Env = append(os.Environ(), roleEnv+"=app")
	stderr, err := app.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, app.Start())
	t.Cleanup(func() { _ = app.Process.Kill(); _ = app.Wait() })

	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if pids.MatchString(sc.Text()) {
				found <- sc.Text()
				break
			}
		}
		for sc.Scan() { // drain, so the app never blocks on its stderr
		}
	}()
	var line string
	select {
	case line = <-found:
	case <-time.After(goneWithin):
		t.Fatalf("the app's child did not report its grandchild within %v", goneWithin)
	}
	child, grandchild := parsePIDs(t, line)
	require.True(t, alive(child) && alive(grandchild))

	require.NoError(t, app.Process.Signal(syscall.SIGKILL))
	_ = app.Wait()
	requireGone(t, "the child and the grandchild it started die with the app", child, grandchild)
}

func TestOverrunningStopEndsTheChildAndAllItStarted(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	e := Executor{Log: zap.New(core), Args: []string{"-test.run=^$"}, App: "proc.test", KillGrace: time.Minute}
	r := e.Launch(executor.Spec{Name: "overrunner", StopTimeout: 100 * time.Millisecond})
	<-r.Ready()
	var line string
	require.Eventually(t, func() bool {
		if l := logs.FilterMessageSnippet("grandchild").All(); len(l) > 0 {
			line = l[0].Message
			return true
		}
		return false
	}, goneWithin, time.Millisecond)
	child, grandchild := parsePIDs(t, line)

	r.Stop()
	err := r.Wait()
	var ee *ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "did not stop within 100ms", ee.KilledFor)
	assert.True(t, ee.Killed)
	// A stop timeout in every mode: the kill only ends it.
	var te *lifecycle.TimeoutError
	require.ErrorAs(t, err, &te, "%v", err)
	assert.Equal(t, lifecycle.TimeoutError{Service: "overrunner", Phase: "stop", Timeout: 100 * time.Millisecond}, *te)
	assert.ErrorIs(t, err, lifecycle.ErrTimeout)
	assert.Equal(t, fmt.Sprintf("child %d signal: killed: did not stop within 100ms", child), err.Error(), "said once, plainly")
	assert.Equal(t, "did not stop within 100ms", ee.Message, "the reason, not a line of the dump")
	assert.Contains(t, string(ee.Trace()), "goroutine ", "the dump is the trace")
	tail := string(ee.Stderr)
	assert.NotContains(t, tail, "second signal", "a normal escalation is not a second signal to the child")
	assert.NotContains(t, fmt.Sprint(logs.All()), "second signal")
	assert.Contains(t, tail, `hostfx child "overrunner": told to end at once (hangup)`)
	assert.Contains(t, tail, "goroutine ", "the child shows where its stop is stuck")
	requireGone(t, "the grandchild ends with the child", child, grandchild)
}
