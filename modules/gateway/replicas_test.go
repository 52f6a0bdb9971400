package gateway_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
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

// A route to a service with replicas spreads the requests over the ones
// that run, each on the socket its number names.
func TestReplicasShareTheRequests(t *testing.T) {
	dir := socketDir(t)
	var mu sync.Mutex
	replicas := map[string]*web{}
	newWorker := func(id app.Identity) *web {
		w := onUnix(filepath.Join(dir, fmt.Sprintf("worker-%d.sock", id.Replica)), echo(id.Service))
		mu.Lock()
		replicas[id.Service] = w
		mu.Unlock()
		return w
	}
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("worker", newWorker, modes.SeparateThread, lifecycle.Replicas(3), lifecycle.WaitForReady(),
			lifecycle.Restart(lifecycle.FixedBackoff(time.Hour))),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/", "worker", gateway.Unix(filepath.Join(dir, "worker-{replica}.sock"))),
			gateway.Route("/two/", "worker#2", gateway.Unix(filepath.Join(dir, "worker-{replica}.sock"))),
		),
		fx.Populate(&srv),
	)
	started(t, a)

	served := func(n int, path string) map[string]int {
		counts := map[string]int{}
		for range n {
			got := get(t, srv.Addr(), path)
			require.Equal(t, http.StatusOK, got.code, got.body)
			counts[strings.Fields(got.body)[0]]++
		}
		return counts
	}
	counts := served(30, "/")
	for _, name := range []string{"worker#1", "worker#2", "worker#3"} {
		assert.Positive(t, counts[name], "%s served none of %v", name, counts)
	}
	assert.Equal(t, map[string]int{"worker#2": 5}, served(5, "/two/x"), "a replica's own name routes to it alone")

	replicas["worker#2"].fail <- errFailed
	eventually(t, func() bool { return stateOf(a, "worker#2") == lifecycle.StateBackoff }, "worker#2 waits to restart")
	counts = served(30, "/")
	assert.Zero(t, counts["worker#2"], "%v", counts)
	assert.Positive(t, counts["worker#1"], "%v", counts)
	assert.Positive(t, counts["worker#3"], "%v", counts)
	assert.Equal(t, http.StatusServiceUnavailable, get(t, srv.Addr(), "/two/x").code)
}

// Replicas cannot share one address: a target without {replica} fails the
// start.
func TestReplicasNeedTheirNumberInTheAddress(t *testing.T) {
	a := app.New(quiet,
		app.Service("worker", func() idle { return idle{} }, modes.SeparateThread, lifecycle.Replicas(2)),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "worker", gateway.TCP("127.0.0.1:9001"))),
	)
	require.NoError(t, a.Err())
	err := a.Start(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `service "worker" has 2 replicas, which cannot all listen at one address: put {replica} in it`)
}

// A request that changes nothing goes to another running replica when the
// first cannot be connected to; one that may change something gets 503
// with Retry-After instead, as only the client knows whether to repeat it.
func TestIdempotentRequestsTryAnotherReplica(t *testing.T) {
	reg, withRegistry := registry()
	dir := socketDir(t)
	newWorker := func(id app.Identity) *web {
		if id.Replica == 2 { // runs, but listens where the route does not look
			return onUnix(filepath.Join(dir, "elsewhere.sock"), echo(id.Service))
		}
		return onUnix(filepath.Join(dir, fmt.Sprintf("worker-%d.sock", id.Replica)), echo(id.Service))
	}
	var srv *gateway.Server
	a := app.New(quiet, withRegistry,
		app.Service("worker", newWorker, modes.SeparateThread, lifecycle.Replicas(2), lifecycle.WaitForReady()),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/", "worker", gateway.Unix(filepath.Join(dir, "worker-{replica}.sock")))),
		fx.Populate(&srv),
	)
	started(t, a)

	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
		for range 4 {
			req, err := http.NewRequest(method, "http://"+srv.Addr()+"/x", nil)
			require.NoError(t, err)
			got := do(t, req)
			require.Equal(t, http.StatusOK, got.code, "%s: %s", method, got.body)
		}
	}
	retries := samples(t, reg, "hostfx_gateway_retries_total")["route=/"]
	assert.Positive(t, retries, "taking turns, some requests went to worker#2 first")
	assert.Equal(t, map[string]float64{"kind=connect,service=worker#2": retries},
		samples(t, reg, "hostfx_gateway_upstream_errors_total"))

	codes := map[int]int{}
	for range 4 {
		req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/x", strings.NewReader("change"))
		require.NoError(t, err)
		got := do(t, req)
		codes[got.code]++
		if got.code == http.StatusServiceUnavailable {
			assert.Equal(t, "1", got.header.Get("Retry-After"))
		}
	}
	assert.Positive(t, codes[http.StatusServiceUnavailable], "%v", codes)
	assert.Equal(t, retries, samples(t, reg, "hostfx_gateway_retries_total")["route=/"], "POST is not retried")
}
