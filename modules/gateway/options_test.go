package gateway_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/yaml"
	"github.com/hostfx/hostfx/modules/gateway"
)

func TestOptionString(t *testing.T) {
	tests := []struct {
		give gateway.Option
		want string
	}{
		{give: gateway.Addr(":8080"), want: `gateway.Addr(":8080")`},
		{give: gateway.HeaderTimeout(5 * time.Second), want: "gateway.HeaderTimeout(5s)"},
		{give: gateway.BodyTimeout(time.Minute), want: "gateway.BodyTimeout(1m0s)"},
		{give: gateway.IdleTimeout(time.Minute), want: "gateway.IdleTimeout(1m0s)"},
		{give: gateway.DrainTimeout(3 * time.Second), want: "gateway.DrainTimeout(3s)"},
		{give: gateway.MaxBodyBytes(1 << 20), want: "gateway.MaxBodyBytes(1048576)"},
		{give: gateway.MaxHeaderBytes(8192), want: "gateway.MaxHeaderBytes(8192)"},
		{give: gateway.BufferBytes(0), want: "gateway.BufferBytes(0)"},
		{give: gateway.Route("/api/", "api", gateway.TCP("127.0.0.1:9001")), want: `gateway.Route("/api/", "api", gateway.TCP("127.0.0.1:9001"))`},
		{give: gateway.Route("/w/", "worker", gateway.Unix("/run/w-{replica}.sock")), want: `gateway.Route("/w/", "worker", gateway.Unix("/run/w-{replica}.sock"))`},
		{give: gateway.Route("/", "api", gateway.Handler(http.NotFoundHandler())), want: `gateway.Route("/", "api", gateway.Handler(http.HandlerFunc))`},
		{give: gateway.Route("/", "api", gateway.Handler(func(api) http.Handler { return nil })), want: `gateway.Route("/", "api", gateway.Handler(func(gateway_test.api) http.Handler))`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}

// Mistakes in code are reported when the app is built.
func TestBadSettings(t *testing.T) {
	ok := gateway.Route("/", "api", gateway.TCP("127.0.0.1:9001"))
	tests := []struct {
		name string
		give []gateway.Option
		want string
	}{
		{name: "no routes", want: "gateway: no routes: declare one with gateway.Route"},
		{name: "addr", give: []gateway.Option{ok, gateway.Addr("localhost")},
			want: `gateway: addr "localhost" from gateway.Addr("localhost"): want host:port`},
		{name: "timeout", give: []gateway.Option{ok, gateway.HeaderTimeout(0)}, want: "gateway: header timeout 0s: want more than 0"},
		{name: "body", give: []gateway.Option{ok, gateway.MaxBodyBytes(-1)}, want: "gateway: max body bytes -1: want more than 0"},
		{name: "header", give: []gateway.Option{ok, gateway.MaxHeaderBytes(0)}, want: "gateway: max header bytes 0: want more than 0"},
		{name: "buffer", give: []gateway.Option{ok, gateway.BufferBytes(-1)},
			want: "gateway: buffer bytes -1: want 0 (pass every response through) or more"},
		{name: "no path", give: []gateway.Option{gateway.Route("api", "api", gateway.TCP(":1"))},
			want: `pattern "api": want a path, such as "/api/", perhaps after a host: "example.com/api/"`},
		{name: "method", give: []gateway.Option{gateway.Route("GET /api", "api", gateway.TCP(":1"))},
			want: `pattern "GET /api": want a host and a path prefix only: no method, query, fragment or wildcard`},
		{name: "wildcard", give: []gateway.Option{gateway.Route("/api/{id}", "api", gateway.TCP(":1"))},
			want: `pattern "/api/{id}": want a host and a path prefix only`},
		{name: "port", give: []gateway.Option{gateway.Route("example.com:80/", "api", gateway.TCP(":1"))},
			want: `pattern "example.com:80/": want the host without a port`},
		{name: "unclean", give: []gateway.Option{gateway.Route("/a/../b", "api", gateway.TCP(":1"))},
			want: `pattern "/a/../b": want a clean path`},
		{name: "no service", give: []gateway.Option{gateway.Route("/", "", gateway.TCP(":1"))},
			want: "want the name of the service the route goes to"},
		{name: "no target", give: []gateway.Option{gateway.Route("/", "api", nil)},
			want: "want where the service listens: gateway.TCP, gateway.Unix or gateway.Handler"},
		{name: "tcp", give: []gateway.Option{gateway.Route("/", "api", gateway.TCP("9001"))},
			want: `gateway.TCP("9001"): want host:port`},
		{name: "unix", give: []gateway.Option{gateway.Route("/", "api", gateway.Unix(""))},
			want: `gateway.Unix(""): want the path of a unix socket`},
		{name: "long unix", give: []gateway.Option{gateway.Route("/", "api", gateway.Unix("/"+strings.Repeat("s", 120)))},
			want: "the path has 121 bytes; a unix socket's has at most 107"},
		{name: "handler", give: []gateway.Option{gateway.Route("/", "api", gateway.Handler(42))},
			want: "gateway.Handler(int): want an http.Handler, or a constructor whose first result is one"},
		{name: "constructor", give: []gateway.Option{gateway.Route("/", "api", gateway.Handler(func() string { return "" }))},
			want: "gateway.Handler(func() string): want an http.Handler"},
		{name: "twice", give: []gateway.Option{ok, gateway.Route("/", "other", gateway.TCP(":2"))},
			want: `pattern "/" is declared twice; first by gateway.Route("/", "api", gateway.TCP("127.0.0.1:9001")) at `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := app.New(quiet, app.Service("api", func() idle { return idle{} }, modes.SeparateThread), gateway.Module(tt.give...))
			require.Error(t, a.Err())
			assert.Contains(t, a.Err().Error(), tt.want)
		})
	}
}

// writeConfig writes a YAML configuration file and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

// The configuration's keys win over code, and its routes over the code's
// routes of the same pattern.
func TestConfigurationWinsOverCode(t *testing.T) {
	sock := socket(t, "api.sock")
	backend := onUnix(sock, echo("api"))
	path := writeConfig(t, fmt.Sprintf(`gateway:
  addr: 127.0.0.1:0
  max_body_bytes: 5
  routes:
    - pattern: /api/
      service: api
      unix: %s
    - pattern: /more/
      service: api
      unix: %s
`, sock, sock))
	var srv *gateway.Server
	a := app.New(quiet,
		config.Module(config.Formats(yaml.Format()), config.File(path)),
		config.Provide[gateway.Settings]("gateway"),
		app.Service("api", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(
			gateway.Addr("127.0.0.1:1"), // port 1 cannot be listened on: the configuration must win
			gateway.MaxBodyBytes(100),
			gateway.Route("/api/", "api", gateway.TCP("127.0.0.1:1")), // nobody listens there
		),
		fx.Populate(&srv),
	)
	started(t, a)
	assert.Equal(t, http.StatusOK, get(t, srv.Addr(), "/api/x").code)
	assert.Equal(t, http.StatusOK, get(t, srv.Addr(), "/more/x").code)
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/api/x", strings.NewReader("123456"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, do(t, req).code)
}

func TestBadConfigurationIsReported(t *testing.T) {
	tests := []struct {
		give string
		want []string
	}{
		{give: "gateway:\n  addr: localhost\n", want: []string{`gateway: addr "localhost" from the configuration's gateway.addr: want host:port`}},
		{give: "gateway:\n  routes:\n    - pattern: /x/\n      service: api\n",
			want: []string{`gateway: the configuration's gateway.routes[0]: want where service "api" listens: tcp: host:port, or unix: a socket's path`}},
		{give: "gateway:\n  routes:\n    - pattern: /x/\n      service: api\n      tcp: 127.0.0.1:1\n      unix: /x.sock\n",
			want: []string{`gateway.routes[0]: both tcp "127.0.0.1:1" and unix "/x.sock": want one of the two`}},
		{give: "gateway:\n  drain_timeout: -1s\n  adr: x\n", want: []string{"gateway.drain_timeout", `gateway.adr = "x"`, `did you mean "addr"?`}},
		{give: "gateway:\n  buffer_bytes: -5\n", want: []string{"gateway.buffer_bytes"}},
	}
	for _, tt := range tests {
		a := app.New(quiet,
			config.Module(config.Formats(yaml.Format()), config.File(writeConfig(t, tt.give))),
			config.Provide[gateway.Settings]("gateway"),
			app.Service("api", func() idle { return idle{} }, modes.SeparateThread),
			gateway.Module(gateway.Route("/", "api", gateway.TCP("127.0.0.1:1"))),
		)
		require.Error(t, a.Err(), tt.give)
		for _, want := range tt.want {
			assert.Contains(t, a.Err().Error(), want)
		}
	}
}
