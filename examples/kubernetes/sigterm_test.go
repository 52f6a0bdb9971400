package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logLine is one JSON line the app logs.
type logLine struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	Event   string `json:"event"`
	Service string `json:"service"`
	PID     int    `json:"pid"`
	Addr    string `json:"addr"`
	raw     string
}

// TestSIGTERMStepByStep runs the built app with the manifest's
// environment, sends it SIGTERM as the kubelet does, and checks the steps
// docs/deploy-kubernetes.md describes, in their order.
func TestSIGTERMStepByStep(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the app")
	manifestEnv(t, deployment(t))
	t.Setenv("APP_OPS__SHUTDOWN_DELAY", "500ms") // the manifest's 5 s, shorter

	bin := filepath.Join(t.TempDir(), "app")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	cmd := exec.Command(bin)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan logLine)
	go func() {
		defer close(lines)
		scan := bufio.NewScanner(stderr)
		for scan.Scan() {
			l := logLine{raw: scan.Text()}
			_ = json.Unmarshal(scan.Bytes(), &l)
			lines <- l
		}
	}()
	var seen []logLine
	await := func(cond func(logLine) bool) logLine {
		t.Helper()
		deadline := time.After(patience)
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "the app exited early:\n%s", transcript(seen))
				seen = append(seen, l)
				if cond(l) {
					return l
				}
			case <-deadline:
				t.Fatalf("waited %v in vain; the app logged:\n%s", patience, transcript(seen))
			}
		}
	}

	// 1. The ops endpoints listen first, then the services start in order.
	opsAddr := await(func(l logLine) bool { return l.Msg == "ops endpoints listening" }).Addr
	await(func(l logLine) bool { return l.Event == "started" && l.Service == "api" })
	worker := await(func(l logLine) bool { return l.Event == "started" && l.Service == "worker" })
	require.NotEqual(t, cmd.Process.Pid, worker.PID, "the worker runs in a child")
	require.Eventually(t, func() bool { return statusOf(opsAddr+"/readyz") == http.StatusOK },
		patience, 10*time.Millisecond, "ready once every service has started")

	// 2. SIGTERM: readiness fails and the app waits its shutdown delay
	// before any service stops; then they stop in reverse order.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	stopAt := len(seen)
	for l := range lines {
		seen = append(seen, l)
	}
	require.NoError(t, cmd.Wait(), "exit code 0 after SIGTERM; the app logged:\n%s", transcript(seen))
	var steps []string
	for _, l := range seen[stopAt:] {
		switch {
		case l.Msg == "worked": // the worker's own line, every 10 s
		case l.Event != "":
			steps = append(steps, l.Event+" "+l.Service)
		case l.Msg != "":
			steps = append(steps, l.Msg)
		}
	}
	assert.Equal(t, []string{
		"readiness fails; waiting before the services stop",
		"stopping worker", "stopped worker",
		"stopping api", "stopped api",
		"ops endpoints closed",
	}, steps, "the app logged:\n%s", transcript(seen))
	for _, l := range seen {
		assert.NotEqual(t, "error", l.Level, l.raw)
	}
	// 3. The worker's child is gone with the app.
	assert.ErrorIs(t, syscall.Kill(worker.PID, 0), syscall.ESRCH, "the worker's child outlived the app")
}

// statusOf returns the status code of a GET of url, or 0 when it fails.
func statusOf(url string) int {
	resp, err := http.Get("http://" + url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func transcript(lines []logLine) string {
	var s string
	for _, l := range lines {
		s += l.raw + "\n"
	}
	return s
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	i := slices.IndexFunc(info.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" })
	return i >= 0 && info.Settings[i].Value == "true"
}
