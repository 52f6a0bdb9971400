package proc

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
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
