package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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

// api is a service that is its own http.Handler: the gateway serves it in
// the app's process while it runs.
type api struct{ http.Handler }

func (api) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// A real app whose services listen on a unix socket, on a TCP port and as
// a handler in the app's process, behind one gateway.
func TestRoutesToEveryKindOfTarget(t *testing.T) {
	sock := socket(t, "files.sock")
	files := onUnix(sock, echo("files"))
	tcp, port := onTCP(t, echo("tcp"))
	admin, adminPort := onTCP(t, echo("admin"))
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("files", func() *web { return files }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("tcp", func() *web { return tcp }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("admin", func() *web { return admin }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/files/", "files", gateway.Unix(sock)),
			gateway.Route("/tcp", "tcp", gateway.TCP(port)),
			gateway.Route("/", "api", gateway.Handler(func(s api) http.Handler { return s })),
			gateway.Route("/api/v2/", "api", gateway.Handler(echo("v2"))),
			gateway.Route("Admin.Example/", "admin", gateway.TCP(adminPort)),
		),
		fx.Populate(&srv),
	)
	started(t, a)

	tests := []struct {
		give, host string
		want       string
	}{
		{give: "/files/a/b.txt", want: "files GET /files/a/b.txt"},
		{give: "/tcp?q=1", want: "tcp GET /tcp?q=1"},
		{give: "/tcp/deeper", want: "tcp GET /tcp/deeper"},
		{give: "/tcpx", want: "api GET /tcpx"}, // "/tcp" covers /tcp and below, not /tcpx
		{give: "/files", want: "api GET /files"},
		{give: "/api/v2/users", want: "v2 GET /api/v2/users"},
		{give: "/api/v1/users", want: "api GET /api/v1/users"},
		{give: "/files/x", host: "admin.example:8080", want: "admin GET /files/x"}, // the host wins over a longer path
		{give: "/", host: "ADMIN.example", want: "admin GET /"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.give, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://"+srv.Addr()+tt.give, nil)
			require.NoError(t, err)
			if tt.host != "" {
				req.Host = tt.host
			}
			got := do(t, req)
			assert.Equal(t, http.StatusOK, got.code)
			assert.True(t, strings.HasPrefix(got.body, tt.want+" "), "got %q", got.body)
		})
	}
}

// The gateway sets the X-Forwarded-* headers itself, drops the client's
// and the hop-by-hop ones, and passes Host and the body on.
func TestForwardedHeaders(t *testing.T) {
	sock := socket(t, "echo.sock")
	proxied := onUnix(sock, echo("proxied"))
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("proxied", func() *web { return proxied }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("local", func() api { return api{echo("local")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/p/", "proxied", gateway.Unix(sock)),
			gateway.Route("/l/", "local", gateway.Handler(func(s api) http.Handler { return s })),
		),
		fx.Populate(&srv),
	)
	started(t, a)

	for _, path := range []string{"/p/x", "/l/x"} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+path, strings.NewReader("hello"))
			require.NoError(t, err)
			req.Host = "shop.example"
			req.Header.Set("X-Forwarded-For", "6.6.6.6")
			req.Header.Set("X-Forwarded-Host", "evil.example")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("Forwarded", "for=6.6.6.6")
			req.Header.Set("Connection", "X-Secret")
			req.Header.Set("X-Secret", "hop-by-hop")
			got := do(t, req)
			require.Equal(t, http.StatusOK, got.code, got.body)
			assert.Contains(t, got.body, "host=shop.example xff=127.0.0.1 xfh=shop.example xfp=http")
			assert.Contains(t, got.body, `body="hello"`)
			if path == "/p/x" {
				assert.Contains(t, got.body, `secret=""`, "a header the client named in Connection is hop-by-hop")
			}
		})
	}
}

// A route that names a service the app does not have fails the start,
// naming the route, before any service starts.
func TestRouteToAnUnknownServiceFailsStart(t *testing.T) {
	a := app.New(quiet,
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/work/", "wrker", gateway.TCP("127.0.0.1:9"))),
	)
	require.NoError(t, a.Err())
	err := a.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `gateway: gateway.Route("/work/", "wrker", gateway.TCP("127.0.0.1:9")) at `)
	assert.Contains(t, err.Error(), `gateway_test.go:`)
	assert.Contains(t, err.Error(), `no service is called "wrker"; its services are "api"`)
	assert.Equal(t, lifecycle.StateIdle, stateOf(a, "api"))
}

func TestModuleBeforeTheServicesFailsStart(t *testing.T) {
	a := app.New(quiet,
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "api", gateway.TCP("127.0.0.1:9"))),
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
	)
	require.NoError(t, a.Err())
	err := a.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `gateway.Module: service "api" is built after it`)
	assert.Contains(t, err.Error(), "pass gateway.Module after every app.Service")
}

// A process-mode service's child serves the route on a unix socket; when
// the child is killed, the gateway answers 503 with Retry-After until the
// next child serves.
func TestChildServesAUnixSocket(t *testing.T) {
	sock := socket(t, "child.sock")
	var srv *gateway.Server
	a := app.New(quiet, app.Test(t),
		app.Service("child", func() *web { return onUnix(sock, pid()) }, modes.SeparateProcess, lifecycle.WaitForReady(),
			lifecycle.Restart(lifecycle.FixedBackoff(100*time.Millisecond))),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "child", gateway.Unix(sock))),
		fx.Populate(&srv),
	)
	started(t, a)
	first := a.Status()[0].PID
	require.NotZero(t, first)
	got := get(t, srv.Addr(), "/")
	require.Equal(t, http.StatusOK, got.code, got.body)
	assert.Equal(t, fmt.Sprintf("pid %d", first), got.body)

	require.NoError(t, syscall.Kill(first, syscall.SIGKILL))
	eventually(t, func() bool {
		got = get(t, srv.Addr(), "/")
		return got.code != http.StatusOK || got.body != fmt.Sprintf("pid %d", first)
	}, "the killed child no longer answers")
	if got.code != http.StatusOK { // unless the next child was quicker than the test
		assert.Equal(t, http.StatusServiceUnavailable, got.code)
		assert.Equal(t, "1", got.header.Get("Retry-After"))
		eventually(t, func() bool {
			got = get(t, srv.Addr(), "/")
			return got.code == http.StatusOK
		}, "the next child serves")
	}
	next := a.Status()[0].PID
	assert.NotEqual(t, first, next)
	assert.Equal(t, fmt.Sprintf("pid %d", next), got.body)
}

// An app stopped may start again, and the gateway with it.
func TestStartAfterStop(t *testing.T) {
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "api", gateway.Handler(func(s api) http.Handler { return s }))),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	for range 2 {
		require.NoError(t, a.Start(t.Context()))
		assert.Equal(t, http.StatusOK, get(t, srv.Addr(), "/").code)
		require.NoError(t, a.Stop(t.Context()))
		assert.Empty(t, srv.Addr())
	}
}
