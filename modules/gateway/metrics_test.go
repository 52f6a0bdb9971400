package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
	"github.com/hostfx/hostfx/modules/ops"
)

// registry gives the app a registry of the program's own, as a program
// that has metrics of its own does.
func registry() (*prometheus.Registry, fx.Option) {
	reg := prometheus.NewRegistry()
	return reg, fx.Supply(fx.Annotate(reg, fx.As(new(prometheus.Registerer))))
}

// samples returns the values of the metric called name in reg, by its
// labels written as name=value, sorted and joined with commas; for a
// histogram, its count of observations.
func samples(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(labels)
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// The gateway counts its requests by route, service and class of code,
// times them by route, and counts the failures of services and its own
// 503s, in the program's registry.
func TestMetrics(t *testing.T) {
	reg, withRegistry := registry()
	sock := socket(t, "files.sock")
	files := onUnix(sock, echo("files"))
	var srv *gateway.Server
	a := app.New(quiet, withRegistry,
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		app.Service("files", func() *web { return files }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("deaf", func() idle { return idle{} }, modes.SeparateThread),
		app.Service("down", func() failing { return failing{} }, modes.SeparateThread,
			lifecycle.Restart(lifecycle.FixedBackoff(time.Hour))),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/api/", "api", gateway.Handler(func(s api) http.Handler { return s })),
			gateway.Route("/files/", "files", gateway.Unix(sock)),
			gateway.Route("/deaf/", "deaf", gateway.Unix(socket(t, "nobody.sock"))),
			gateway.Route("/down/", "down", gateway.Handler(echo("down"))),
		),
		fx.Populate(&srv),
	)
	started(t, a)
	eventually(t, func() bool { return stateOf(a, "down") == lifecycle.StateBackoff }, "down waits to restart")

	for path, want := range map[string]int{
		"/api/a": 200, "/api/b": 200, "/files/c": 200, "/nowhere": 404, "/deaf/d": 503, "/down/e": 503,
	} {
		got := get(t, srv.Addr(), path)
		require.Equal(t, want, got.code, "%s: %s", path, got.body)
	}
	require.Equal(t, http.StatusBadRequest, get(t, srv.Addr(), "/api/../x").code)

	assert.Equal(t, map[string]float64{
		"code_class=2xx,route=/api/,service=api":     2,
		"code_class=2xx,route=/files/,service=files": 1,
		"code_class=4xx,route=,service=":             2,
		"code_class=5xx,route=/deaf/,service=deaf":   1,
		"code_class=5xx,route=/down/,service=down":   1,
	}, samples(t, reg, "hostfx_gateway_requests_total"))
	assert.Equal(t, map[string]float64{"route=/api/": 2, "route=/files/": 1, "route=": 2, "route=/deaf/": 1, "route=/down/": 1},
		samples(t, reg, "hostfx_gateway_request_duration_seconds"))
	assert.Equal(t, map[string]float64{"kind=connect,service=deaf": 1}, samples(t, reg, "hostfx_gateway_upstream_errors_total"))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP hostfx_gateway_unavailable_responses_total 503 answers of the gateway's own, for a service that did not run or answer, by route pattern and whether they carried Retry-After.
# TYPE hostfx_gateway_unavailable_responses_total counter
hostfx_gateway_unavailable_responses_total{retry_after="true",route="/deaf/"} 1
hostfx_gateway_unavailable_responses_total{retry_after="true",route="/down/"} 1
`), "hostfx_gateway_unavailable_responses_total"))

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems, "the metrics follow Prometheus' naming conventions")
}

// A metric of the program's own with a name the gateway's take fails the
// build, naming the gateway.
func TestMetricsThatClashFailTheBuild(t *testing.T) {
	reg, withRegistry := registry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "hostfx_gateway_requests_total", Help: "Mine."}))
	a := app.New(quiet, withRegistry,
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "api", gateway.Handler(echo("api")))),
	)
	require.Error(t, a.Err())
	assert.Contains(t, a.Err().Error(), "gateway: register the metrics: ")
}

// Without a registry of the program's, the gateway's metrics are in the
// ops module's own, beside the services'.
func TestMetricsInTheOpsRegistry(t *testing.T) {
	var srv *gateway.Server
	var opsSrv *ops.Server
	a := app.New(quiet,
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/api/", "api", gateway.Handler(func(s api) http.Handler { return s }))),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv, &opsSrv),
	)
	started(t, a)
	require.Equal(t, http.StatusOK, get(t, srv.Addr(), "/api/a").code)
	page := get(t, opsSrv.Addr(), "/metrics")
	require.Equal(t, http.StatusOK, page.code)
	assert.Contains(t, page.body, `hostfx_gateway_requests_total{code_class="2xx",route="/api/",service="api"} 1`)
	assert.Contains(t, page.body, `hostfx_service_restarts_total{service="api"}`, "beside the services'")
}
