package ops_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/ops"
)

// flaky fails its first run, then runs until stopped.
type flaky struct{ runs atomic.Int32 }

func (f *flaky) Run(ctx context.Context) error {
	if f.runs.Add(1) == 1 {
		return errors.New("first run fails")
	}
	<-ctx.Done()
	return nil
}

// registry provides reg to the graph as the program's registry.
func registry(reg *prometheus.Registry) fx.Option {
	return fx.Provide(func() prometheus.Registerer { return reg }, func() prometheus.Gatherer { return reg })
}

// sample returns the one metric called name whose labels include labels.
func sample(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	families, err := g.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue metrics
				}
			}
			return m
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return nil
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestMetricsOfServicesInTheProgramsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := &flaky{}
	a := app.New(quiet, registry(reg),
		app.Service("api", newIdle, modes.SeparateThread),
		app.Service("flaky", func() *flaky { return f }, modes.SeparateThread, lifecycle.Restart(lifecycle.Immediate())),
		ops.Module(ops.Addr("127.0.0.1:0")),
	)
	started(t, a)
	eventually(t, func() bool {
		st := a.Status()[1]
		return st.Restarts == 1 && st.State == lifecycle.StateRunning
	}, "flaky restarted once")

	var want strings.Builder
	want.WriteString("# HELP hostfx_service_state The state of each service: 1 for the state it is in, 0 for the others.\n" +
		"# TYPE hostfx_service_state gauge\n")
	for _, svc := range []string{"api", "flaky"} {
		for _, s := range []string{"backoff", "exited", "failed", "idle", "running", "starting", "stopped", "stopping"} {
			v := 0
			if s == "running" {
				v = 1
			}
			fmt.Fprintf(&want, "hostfx_service_state{service=%q,state=%q} %d\n", svc, s, v)
		}
	}
	want.WriteString(`# HELP hostfx_service_restarts_total Restarts of a service since the app started.
# TYPE hostfx_service_restarts_total counter
hostfx_service_restarts_total{service="api"} 0
hostfx_service_restarts_total{service="flaky"} 1
# HELP hostfx_service_crashes_total Runs of a service that ended in an error, a panic or a crash.
# TYPE hostfx_service_crashes_total counter
hostfx_service_crashes_total{service="api"} 0
hostfx_service_crashes_total{service="flaky"} 1
# HELP hostfx_service_info A service and its execution mode; always 1.
# TYPE hostfx_service_info gauge
hostfx_service_info{mode="SEPARATE_THREAD",service="api"} 1
hostfx_service_info{mode="SEPARATE_THREAD",service="flaky"} 1
`)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want.String()),
		"hostfx_service_state", "hostfx_service_restarts_total", "hostfx_service_crashes_total", "hostfx_service_info"))

	assert.Equal(t, uint64(1), sample(t, reg, "hostfx_service_start_duration_seconds", map[string]string{"service": "api"}).GetHistogram().GetSampleCount())
	assert.Equal(t, uint64(2), sample(t, reg, "hostfx_service_start_duration_seconds", map[string]string{"service": "flaky"}).GetHistogram().GetSampleCount(),
		"the first start and the restart")
	api := a.Status()[0]
	assert.InDelta(t, float64(api.Since.UnixNano())/1e9,
		sample(t, reg, "hostfx_service_start_time_seconds", map[string]string{"service": "api"}).GetGauge().GetValue(), 1e-6)
	lint, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, lint, "the names follow Prometheus' conventions")
}

// stall holds the main event loop in its first callback until released.
type stall struct{ release chan struct{} }

func (s *stall) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Post(func() { <-s.release })
	return nil
}

func TestLoopStallsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := &stall{release: make(chan struct{})}
	a := app.New(quiet, registry(reg),
		app.Service("hog", func() *stall { return s }, modes.MainEventLoopAsync),
		ops.Module(ops.Addr("127.0.0.1:0")),
	)
	started(t, a)
	t.Cleanup(func() { close(s.release) }) // before the stop, which the loop would hold
	eventually(t, func() bool {
		n, err := testutil.GatherAndCount(reg, "hostfx_loop_stalls_total")
		return err == nil && n == 1
	}, "the stall is counted")
	assert.Equal(t, 1.0, sample(t, reg, "hostfx_loop_stalls_total", map[string]string{"loop": "main", "service": "hog"}).GetCounter().GetValue())
}

func TestChildResourcesAreReported(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := app.New(quiet, app.Test(t), registry(reg),
		app.Service("worker", newIdle, modes.SeparateProcess),
		ops.Module(ops.Addr("127.0.0.1:0")),
	)
	started(t, a)
	st := a.Status()[0]
	require.NotEqual(t, os.Getpid(), st.PID, "the worker runs in a child")
	rss := sample(t, reg, "hostfx_service_process_resident_memory_bytes", map[string]string{"service": "worker"})
	assert.Greater(t, rss.GetGauge().GetValue(), 1e5, "a Go child holds more than 100 kB")
	cpu := sample(t, reg, "hostfx_service_process_cpu_seconds_total", map[string]string{"service": "worker"})
	assert.GreaterOrEqual(t, cpu.GetCounter().GetValue(), 0.0)
	n, err := testutil.GatherAndCount(reg, "hostfx_service_process_resident_memory_bytes")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestMetricsEndpointWithARegistryOfItsOwn(t *testing.T) {
	var srv *ops.Server
	a := app.New(quiet,
		app.Service("api", newIdle, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	started(t, a)
	code, body := get(t, srv.Addr(), "/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "\nhostfx_service_state{service=\"api\",state=\"running\"} 1\n")
	assert.Contains(t, body, "\ngo_goroutines ", "the Go runtime's metrics")
	assert.Contains(t, body, "\nprocess_resident_memory_bytes ", "the process's metrics")
}

func TestARegistererThatIsNoGathererIsNotServed(t *testing.T) {
	reg := prometheus.NewRegistry()
	var srv *ops.Server
	a := app.New(quiet,
		fx.Provide(func() prometheus.Registerer { return prometheus.WrapRegistererWithPrefix("", reg) }),
		app.Service("api", newIdle, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	started(t, a)
	code, _ := get(t, srv.Addr(), "/metrics")
	assert.Equal(t, http.StatusNotFound, code, "the program serves its registry itself")
	n, err := testutil.GatherAndCount(reg, "hostfx_service_state")
	require.NoError(t, err)
	assert.Equal(t, 8, n, "the metrics are in the program's registry")
}

func TestMetricsRegisteredTwiceAreReported(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := app.New(quiet, registry(reg), ops.Module(ops.Addr("127.0.0.1:0")))
	require.NoError(t, first.Err())
	second := app.New(quiet, registry(reg), ops.Module(ops.Addr("127.0.0.1:0")))
	require.Error(t, second.Err())
	assert.Contains(t, second.Err().Error(), "ops: register the metrics: ")
}

// looping runs on an event loop until it is stopped.
type looping struct{}

func (looping) RunAsync(context.Context, modes.Loop) error { return nil }

// The lag of each event loop is sampled into a histogram: the main loop
// once, whatever services share it, and each SEPARATE_THREAD_ASYNC
// service's own loop by its name.
func TestLoopLagIsSampled(t *testing.T) {
	reg := prometheus.NewRegistry()
	clock := clockwork.NewFakeClock()
	a := app.New(quiet, registry(reg),
		app.Service("a", func() looping { return looping{} }, modes.MainEventLoopAsync),
		app.Service("b", func() *looping { return &looping{} }, modes.MainEventLoopAsync),
		app.Service("own", func() looping { return looping{} }, modes.SeparateThreadAsync),
		app.Service("blocking", newIdle, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0"), ops.WithClock(clock)),
	)
	started(t, a)
	for range 3 {
		require.NoError(t, clock.BlockUntilContext(t.Context(), 1)) // the sampler waits for its tick
		clock.Advance(time.Second)
	}
	eventually(t, func() bool {
		n, err := testutil.GatherAndCount(reg, "hostfx_loop_lag_seconds")
		return err == nil && n == 2
	}, "a series for the main loop and one for own")
	eventually(t, func() bool {
		return sample(t, reg, "hostfx_loop_lag_seconds", map[string]string{"loop": "main"}).GetHistogram().GetSampleCount() >= 2 &&
			sample(t, reg, "hostfx_loop_lag_seconds", map[string]string{"loop": "own"}).GetHistogram().GetSampleCount() >= 2
	}, "each tick samples each loop once")
}
