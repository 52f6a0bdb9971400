package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
)

// The load of the acceptance.
const (
	loadClients   = 64
	loadKillEvery = time.Second
	loadTimeout   = 30 * time.Second // a request that takes longer hangs
	loadReplicas  = 3
)

// pong answers "pong" to any request, after reading its body, in two
// parts a moment apart, as a service that works on its answer: a kill may
// come between them.
func pong() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "4")
		_, _ = io.WriteString(w, "po")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-time.After(time.Millisecond):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "ng")
	})
}

// loadResult tallies what the clients got.
type loadResult struct {
	answered, unavailable atomic.Int64

	mu     sync.Mutex
	wrong  int
	sample []string // the first few wrong answers and errors
}

func (r *loadResult) fail(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wrong++
	if len(r.sample) < 10 {
		r.sample = append(r.sample, what)
	}
}

// Under load from many clients while a backend process is killed every
// second, every request gets the backend's answer or a 503 with
// Retry-After: no connection is cut and none hangs. Afterwards the
// gateway holds no more goroutines or file descriptors than before.
func TestLoadWhileBackendsDie(t *testing.T) {
	dir := socketDir(t)
	newBackend := func(id app.Identity) *web {
		return onUnix(filepath.Join(dir, fmt.Sprintf("backend-%d.sock", id.Replica)), pong())
	}
	var srv *gateway.Server
	a := app.New(quiet, app.Test(t),
		app.Service("backend", newBackend, modes.SeparateProcess, lifecycle.Replicas(loadReplicas), lifecycle.WaitForReady(),
			lifecycle.Restart(lifecycle.FixedBackoff(100*time.Millisecond)), lifecycle.Intensity(1_000_000, time.Minute)),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/", "backend", gateway.Unix(filepath.Join(dir, "backend-{replica}.sock")))),
		fx.Populate(&srv),
	)
	started(t, a)
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	transport := &http.Transport{MaxIdleConnsPerHost: loadClients}
	c := &http.Client{Transport: transport, Timeout: loadTimeout}
	done := make(chan struct{})
	kills := make(chan int, 1)
	go func() { kills <- killEvery(a, loadKillEvery, done) }()

	var res loadResult
	var next atomic.Int64
	var wg sync.WaitGroup
	for range loadClients {
		wg.Go(func() {
			for i := next.Add(1); i <= loadRequests; i = next.Add(1) {
				loadOne(c, srv.Addr(), i, &res)
			}
		})
	}
	wg.Wait()
	close(done)
	killed := <-kills
	t.Logf("%d requests: %d answered, %d got 503 with Retry-After, %d wrong; %d backends killed",
		loadRequests, res.answered.Load(), res.unavailable.Load(), res.wrong, killed)
	assert.Zero(t, res.wrong, "answers other than the backend's or a 503 with Retry-After: %s", strings.Join(res.sample, "; "))
	assert.Equal(t, int64(loadRequests), res.answered.Load()+res.unavailable.Load())
	assert.Positive(t, killed)

	// Once the connections that idle are closed, as they would be after a
	// while, nothing of the load is left.
	transport.CloseIdleConnections()
	var nowG, nowFDs int
	settled := poll(func() bool {
		for _, st := range a.Status() {
			if st.State != lifecycle.StateRunning {
				return false
			}
		}
		srv.CloseIdle()
		nowG, nowFDs = runtime.NumGoroutine(), openFDs(t)
		return nowG <= goroutines && nowFDs <= fds
	})
	assert.True(t, settled, "%d goroutines and %d file descriptors after the load, %d and %d before",
		nowG, nowFDs, goroutines, fds)
}

// poll asks cond on this goroutine, which NumGoroutine then does not count
// twice, until it holds or the test's patience runs out.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(patience)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// loadOne sends request i, a POST every eighth one and a GET otherwise,
// and tallies what it got.
func loadOne(c *http.Client, addr string, i int64, res *loadResult) {
	method, body := http.MethodGet, io.Reader(nil)
	if i%8 == 0 {
		method, body = http.MethodPost, strings.NewReader("ping")
	}
	req, err := http.NewRequest(method, "http://"+addr+"/", body)
	if err != nil {
		res.fail(err.Error())
		return
	}
	resp, err := c.Do(req)
	if err != nil {
		res.fail(err.Error()) // a cut connection, or a hang
		return
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	switch {
	case err != nil:
		res.fail(fmt.Sprintf("%s: reading the body: %v", resp.Status, err))
	case resp.StatusCode == http.StatusOK && string(got) == "pong":
		res.answered.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		res.unavailable.Add(1)
	default:
		res.fail(fmt.Sprintf("%s Retry-After=%q %q", resp.Status, resp.Header.Get("Retry-After"), got))
	}
}

// killEvery kills the child of one running replica at once and then every
// period, until done is closed, and returns how many it killed.
func killEvery(a *app.App, period time.Duration, done <-chan struct{}) int {
	tick := time.NewTicker(period)
	defer tick.Stop()
	killed := 0
	for turn := 0; ; turn++ {
		for i := range loadReplicas { // the next replica that runs, in turn
			st := a.Status()[(turn+i)%loadReplicas]
			if st.State == lifecycle.StateRunning && st.PID > 0 && st.PID != os.Getpid() {
				if syscall.Kill(st.PID, syscall.SIGKILL) == nil {
					killed++
				}
				break
			}
		}
		select {
		case <-tick.C:
		case <-done:
			return killed
		}
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}
