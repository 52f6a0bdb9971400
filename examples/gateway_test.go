package examples_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGatewayExample runs examples/gateway on free ports: each route
// answers from its service, ops serves the probes, the status page and the
// gateway's metrics, a killed child comes back behind 503s with
// Retry-After, and after SIGTERM no child is left.
func TestGatewayExample(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	t.Parallel()
	p := start(t, build(t, goTool, "gateway"), "--gateway.addr=127.0.0.1:0", "--ops.addr=127.0.0.1:0")
	want := []string{"api", "files", "worker#1", "worker#2"}
	lines := p.await(t, func(seen []logLine) bool { return len(listening(seen)) == 2 && len(services(seen, "started")) == 4 })
	require.Equal(t, want, services(lines, "started"))
	addrs := listening(lines)
	gw, opsAddr := "http://"+addrs["gateway listening"], "http://"+addrs["ops endpoints listening"]
	children := map[int]bool{}
	for _, l := range events(lines, "started") {
		if isProcessMode(l.Mode) {
			children[l.PID] = true
		}
	}

	api := fetch(t, gw+"/api/hello")
	assert.Equal(t, fmt.Sprintf("200 api (pid %d): /api/hello, request 1\n", p.cmd.Process.Pid), api)
	files := fetch(t, gw+"/files/readme.txt")
	assert.Regexp(t, `^200 files \(pid \d+\): /files/readme.txt\n$`, files)
	served := map[string]bool{}
	for range 4 {
		served[strings.Fields(fetch(t, gw+"/work/job"))[1]] = true
	}
	assert.Equal(t, map[string]bool{"worker#1": true, "worker#2": true}, served, "the replicas take turns")
	assert.True(t, strings.HasPrefix(fetch(t, gw+"/elsewhere"), "404 "))
	assert.Equal(t, "200 ok", fetch(t, opsAddr+"/readyz"))
	assert.Contains(t, fetch(t, opsAddr+"/status/"), "<html")
	assert.Contains(t, fetch(t, opsAddr+"/metrics"), `hostfx_gateway_requests_total{code_class="2xx",route="/work/",service="worker#1"} `)

	// Kill the files child: until the next serves, 503 with Retry-After.
	var first int
	_, err = fmt.Sscanf(files, "200 files (pid %d)", &first)
	require.NoError(t, err)
	require.True(t, children[first], "files runs in a child: %s", files)
	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	before := fmt.Sprintf("200 files (pid %d): /files/x\n", first) // the kill has not landed yet
	deadline := time.Now().Add(patience)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		got := fetch(t, gw+"/files/x")
		var next int
		if _, err := fmt.Sscanf(got, "200 files (pid %d)", &next); err == nil && next != first {
			children[next] = true
			break
		}
		require.True(t, got == before || (strings.HasPrefix(got, "503 retry-after=") && got != "503 retry-after="), "got %q", got)
		require.True(t, time.Now().Before(deadline), "files did not come back")
	}

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	all, exitErr := p.finish(t)
	require.NoError(t, exitErr, "want exit code 0 after SIGTERM; stderr:\n%s", transcript(all))
	assert.Equal(t, reversed(want), services(all, "stopped"), "stop order")
	for pid := range children {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "child %d outlived the example", pid)
	}
}

// listening returns the addresses the example's servers logged, by message.
func listening(lines []logLine) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		if strings.HasSuffix(l.Msg, " listening") && l.Addr != "" {
			out[l.Msg] = l.Addr
		}
	}
	return out
}

// fetch GETs url and returns the status code and the body, or for a 503
// its Retry-After, as "503 retry-after=N".
func fetch(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := oneShot.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	if resp.StatusCode == http.StatusServiceUnavailable {
		return "503 retry-after=" + resp.Header.Get("Retry-After")
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// oneShot keeps no connection open after a request, for goleak.
var oneShot = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
