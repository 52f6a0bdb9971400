package ops_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/ops"
)

// The probes follow a real app through its start and stop: ready only
// once every service has started, and not ready any more before the
// first service is asked to stop.
func TestReadinessFollowsStartAndFailsFirstOnStop(t *testing.T) {
	db := newGated()
	var srv *ops.Server
	type seen struct {
		ready, live int
		body        string
	}
	atStop := make(chan seen, 1)
	db.onStop = func() {
		code, body := get(t, srv.Addr(), "/readyz")
		live, _ := get(t, srv.Addr(), "/livez")
		atStop <- seen{ready: code, live: live, body: body}
	}
	a := app.New(quiet,
		app.Service("db", func() *gated { return db }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("api", newIdle, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	startErr := make(chan error, 1)
	go func() { startErr <- a.Start(context.Background()) }()

	// db waits to be ready, so the app is starting: alive, not ready.
	eventually(t, func() bool { return srv.Addr() != "" }, "the ops server listens before the services start")
	code, _ := get(t, srv.Addr(), "/livez")
	assert.Equal(t, http.StatusOK, code)
	code, body := get(t, srv.Addr(), "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "[+]supervisor ok\n[+]main-loop ok\n")
	assert.Contains(t, body, "[-]started failed: the app is starting\n")
	assert.Contains(t, body, "[-]service/db failed: starting\n")
	assert.True(t, strings.HasSuffix(body, "readyz check failed\n"), body)

	close(db.ready)
	require.NoError(t, <-startErr)
	code, body = get(t, srv.Addr(), "/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok", body)
	code, body = get(t, srv.Addr(), "/readyz?verbose")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "[+]supervisor ok\n[+]main-loop ok\n[+]started ok\n[+]shutdown ok\n[+]service/db ok\n[+]service/api ok\nreadyz check passed\n", body)

	require.NoError(t, a.Stop(context.Background()))
	s := <-atStop
	assert.Equal(t, http.StatusServiceUnavailable, s.ready, "/readyz fails before db, the last service to stop, is asked to")
	assert.Contains(t, s.body, "[-]shutdown failed: the app is stopping\n")
	assert.Equal(t, http.StatusOK, s.live, "the app stays alive while it stops")
	assert.Empty(t, srv.Addr(), "the server stopped after the services")
}

func TestModuleBeforeTheServicesFailsStart(t *testing.T) {
	a := app.New(quiet,
		ops.Module(ops.Addr("127.0.0.1:0")),
		app.Service("api", newIdle, modes.SeparateThread),
		app.Service("worker", newIdle, modes.SeparateThread),
	)
	require.NoError(t, a.Err())
	err := a.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `ops.Module: services "api", "worker" are built after it`)
	for _, st := range a.Status() {
		// The module's hooks came first: start failed before any service's.
		assert.Equal(t, lifecycle.StateIdle, st.State, "%s never started", st.Service)
	}
}

func TestProbeQueries(t *testing.T) {
	var srv *ops.Server
	cacheDown := errors.New("cache: connection refused")
	a := app.New(quiet,
		app.Service("api", newIdle, modes.SeparateThread),
		fx.Provide(
			ops.AsCheck(func() ops.Check {
				return ops.Check{Name: "cache", Func: func(context.Context) error { return cacheDown }}
			}),
			ops.AsCheck(func() ops.Check {
				return ops.Check{Name: "disk/space", Live: true, Func: func(context.Context) error { return nil }}
			}),
		),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	started(t, a)

	tests := []struct {
		give     string
		wantCode int
		wantBody string
	}{
		{give: "/livez", wantCode: 200, wantBody: "ok"},
		{give: "/livez?verbose", wantCode: 200, wantBody: "[+]supervisor ok\n[+]main-loop ok\n[+]disk/space ok\nlivez check passed\n"},
		{give: "/readyz", wantCode: 503, wantBody: "[+]supervisor ok\n[+]main-loop ok\n[+]started ok\n[+]shutdown ok\n[+]service/api ok\n" +
			"[-]cache failed: cache: connection refused\n[+]disk/space ok\nreadyz check failed\n"},
		{give: "/readyz?exclude=cache", wantCode: 200, wantBody: "ok"},
		{give: "/readyz?exclude=cache&exclude=nope&verbose", wantCode: 200, wantBody: "[+]supervisor ok\n[+]main-loop ok\n[+]started ok\n" +
			"[+]shutdown ok\n[+]service/api ok\n[+]cache excluded: ok\n[+]disk/space ok\n" +
			"warn: some health checks cannot be excluded: no matches for \"nope\"\nreadyz check passed\n"},
		{give: "/readyz/service/api", wantCode: 200, wantBody: "ok"},
		{give: "/readyz/cache", wantCode: 503, wantBody: "internal server error: cache: connection refused\n"},
		{give: "/livez/disk/space", wantCode: 200, wantBody: "ok"},
		{give: "/livez/cache", wantCode: 404, wantBody: "no check \"cache\"\n"},
		{give: "/nothing", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			code, body := get(t, srv.Addr(), tt.give)
			assert.Equal(t, tt.wantCode, code)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, body)
			}
		})
	}

	resp, err := http.Post("http://"+srv.Addr()+"/readyz", "text/plain", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// failer fails at once, and never restarts.
type failer struct{}

func (failer) Run(context.Context) error { return errors.New("no input: password=hunter2") }

func TestReadinessExceptAndStates(t *testing.T) {
	var srv *ops.Server
	a := app.New(quiet,
		app.Service("api", newIdle, modes.SeparateThread),
		app.Service("batch", func() failer { return failer{} }, modes.SeparateThread,
			lifecycle.RestartPolicy(lifecycle.Never), lifecycle.FailAlone()),
		app.Service("import", func() failer { return failer{} }, modes.SeparateThread,
			lifecycle.RestartPolicy(lifecycle.Never), lifecycle.FailAlone(), lifecycle.Replicas(2)),
		ops.Module(ops.Addr("127.0.0.1:0"), ops.ReadinessExcept("batch")),
		fx.Populate(&srv),
	)
	started(t, a)
	eventually(t, func() bool {
		for _, st := range a.Status() {
			if st.Service != "api" && st.State != lifecycle.StateFailed {
				return false
			}
		}
		return true
	}, "the failers failed")
	code, body := get(t, srv.Addr(), "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.NotContains(t, body, "service/batch", "left out")
	assert.Contains(t, body, "[-]service/import#1 failed: failed\n")
	assert.Contains(t, body, "[-]service/import#2 failed: failed\n")
	assert.NotContains(t, body, "hunter2", "a service's error never shows")
}

func TestBadSettingsAreReported(t *testing.T) {
	tests := []struct {
		name string
		give []ops.Option
		want string
	}{
		{name: "addr", give: []ops.Option{ops.Addr("8181")},
			want: `ops: addr "8181" from ops.Addr("8181"): want host:port`},
		{name: "delay", give: []ops.Option{ops.ShutdownDelay(-1)}, want: "ops: shutdown delay -1ns: want 0 or more"},
		{name: "timeout", give: []ops.Option{ops.CheckTimeout(0)}, want: "ops: check timeout 0s: want more than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := app.New(quiet, app.Service("api", newIdle, modes.SeparateThread), ops.Module(tt.give...))
			require.Error(t, a.Err())
			assert.Contains(t, a.Err().Error(), tt.want)
		})
	}
}

func TestBadChecksAreReported(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name string
		give []ops.Check
		want string
	}{
		{name: "no func", give: []ops.Check{{Name: "db"}}, want: `ops: check "db" has no Func`},
		{name: "empty name", give: []ops.Check{{Func: ok}}, want: `ops: check "": want a name`},
		{name: "spaces", give: []ops.Check{{Name: "my db", Func: ok}}, want: `ops: check "my db": want a name`},
		{name: "service's", give: []ops.Check{{Name: "service/db", Func: ok}}, want: `names starting with "service/"`},
		{name: "built-in", give: []ops.Check{{Name: "shutdown", Func: ok}}, want: `ops: check "shutdown" is provided twice`},
		{name: "twice", give: []ops.Check{{Name: "db", Func: ok}, {Name: "db", Func: ok}}, want: `ops: check "db" is provided twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var provides []any
			for _, c := range tt.give {
				provides = append(provides, ops.AsCheck(func() ops.Check { return c }))
			}
			a := app.New(quiet, fx.Provide(provides...), ops.Module(ops.Addr("127.0.0.1:0")))
			require.Error(t, a.Err())
			assert.Contains(t, a.Err().Error(), tt.want)
		})
	}
}

func TestAddressInUseFailsStart(t *testing.T) {
	var first *ops.Server
	a := app.New(quiet, ops.Module(ops.Addr("127.0.0.1:0")), fx.Populate(&first))
	started(t, a)
	b := app.New(quiet, ops.Module(ops.Addr(first.Addr())))
	require.NoError(t, b.Err())
	err := b.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ops: listen on "+first.Addr()+` (from ops.Addr("`+first.Addr()+`")): `)
	assert.Contains(t, err.Error(), "address already in use")
}

func TestReadinessExceptOfNoServiceFailsStart(t *testing.T) {
	a := app.New(quiet,
		app.Service("api", newIdle, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0"), ops.ReadinessExcept("bacth")),
	)
	require.NoError(t, a.Err())
	err := a.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `ops: readiness except "bacth": the app has no such service`)
}

// A main event loop stuck in a callback fails /livez, which names the
// callback, while the supervisor itself still answers.
func TestStuckMainLoopFailsLiveness(t *testing.T) {
	var srv *ops.Server
	s := &stall{release: make(chan struct{})}
	a := app.New(quiet,
		app.Service("hog", func() *stall { return s }, modes.MainEventLoopAsync),
		ops.Module(ops.Addr("127.0.0.1:0"), ops.CheckTimeout(50*time.Millisecond)),
		fx.Populate(&srv),
	)
	started(t, a)
	t.Cleanup(func() { close(s.release) }) // before the stop, which the loop would hold
	var body string
	eventually(t, func() bool {
		var code int
		code, body = get(t, srv.Addr(), "/livez?verbose")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `a callback of "hog"`)
	}, "the stuck loop fails the probe")
	assert.Contains(t, body, "[+]supervisor ok\n")
	assert.Contains(t, body, `[-]main-loop failed: event loop "main": no answer: a callback of "hog"`)
}
