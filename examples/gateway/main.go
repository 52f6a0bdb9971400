// Command gateway runs three services behind the host gateway, with the ops
// module's probes, metrics and live status page beside it:
//
//   - api, an http.Handler the gateway calls in this process, at /api/;
//   - files, a SEPARATE_PROCESS service whose child serves HTTP on a unix
//     socket, at /files/;
//   - worker, two SEPARATE_PROCESS replicas, each on a socket of its own,
//     which take turns at /work/.
//
// It prints where to point curl and a browser, and runs until SIGINT or
// SIGTERM. Kill a child (its pid is in every answer) and watch the status
// page: the gateway answers 503 with Retry-After while files restarts, and
// the other worker takes the requests while one is down.
//
//	go run ./examples/gateway
//	go run ./examples/gateway --gateway.addr=127.0.0.1:9080 --ops.addr=127.0.0.1:9181
//	DEMO_GATEWAY__ADDR=:8080 go run ./examples/gateway   # from other machines too
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/gateway"
	"github.com/hostfx/hostfx/modules/ops"
)

// dirEnv names the directory of the services' sockets; the children
// inherit it from this program, which makes the directory.
const dirEnv = "HOSTFX_GATEWAY_EXAMPLE_DIR"

// API is a service that is its own http.Handler: the gateway calls it in
// this process, on its own goroutines, while the service runs.
type API struct{ requests atomic.Int64 }

func NewAPI() *API { return &API{} }

func (*API) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = fmt.Fprintf(w, "api (pid %d): %s, request %d\n", os.Getpid(), r.URL.Path, a.requests.Add(1))
}

// Site serves HTTP on a unix socket until it is stopped. Files and each
// worker replica are one; in SEPARATE_PROCESS, each runs in a child.
type Site struct {
	name   string
	socket string
}

// NewFiles serves the files service in its child.
func NewFiles(dir Dir) *Site {
	return &Site{name: "files", socket: filepath.Join(string(dir), "files.sock")}
}

// NewWorker serves one replica of the worker service, on the socket its
// replica number names, as the route's "{replica}" does.
func NewWorker(dir Dir, id app.Identity) *Site {
	return &Site{name: id.Service, socket: filepath.Join(string(dir), fmt.Sprintf("worker-%d.sock", id.Replica))}
}

func (s *Site) Run(ctx context.Context) error {
	_ = os.Remove(s.socket) // left by a child that was killed
	ln, err := net.Listen("unix", s.socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		_ = srv.Shutdown(context.WithoutCancel(ctx))
	}()
	lifecycle.Ready(ctx) // with WaitForReady, the gateway sends requests from now on
	err = srv.Serve(ln)
	<-stopped
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = fmt.Fprintf(w, "%s (pid %d): %s\n", s.name, os.Getpid(), r.URL.Path)
}

// Dir is the directory of the sockets.
type Dir string

// socketDir makes the directory of the sockets, or, in a child, finds the
// one its parent made.
func socketDir() (dir string, remove func(), err error) {
	if _, child := app.InChild(); child {
		return os.Getenv(dirEnv), func() {}, nil
	}
	dir, err = os.MkdirTemp("", "hostfx-gateway-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Setenv(dirEnv, dir); err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// registry is the program's Prometheus registry: the gateway's and ops'
// metrics go into it, with the Go runtime's and the process's, and ops
// serves it at /metrics.
func registry() fx.Option {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return fx.Supply(fx.Annotate(reg, fx.As(new(prometheus.Registerer)), fx.As(new(prometheus.Gatherer))))
}

// announce prints where to point curl and a browser, once both servers
// listen.
func announce(lc fx.Lifecycle, gw *gateway.Server, o *ops.Server) {
	lc.Append(fx.StartHook(func() {
		g, s := "http://"+gw.Addr(), "http://"+o.Addr()
		fmt.Printf("gateway: %s\n"+
			"  curl %s/api/hello\n"+
			"  curl %s/files/readme.txt\n"+
			"  curl %s/work/job    (the two workers take turns)\n"+
			"status page: %s/status/\n"+
			"probes and metrics: %s/readyz?verbose %s/metrics\n"+
			"Ctrl-C stops it.\n", g, g, g, g, s, s, s)
	}))
}

func main() {
	dir, remove, err := socketDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway example:", err)
		os.Exit(1)
	}
	defer remove()
	app.New(
		// gateway.* and ops.* keys from DEMO_ variables and --key=value flags.
		config.Module(config.Env("DEMO_"), config.Args(os.Args[1:])),
		config.Provide[gateway.Settings]("gateway"),
		config.Provide[ops.Settings]("ops"),
		registry(),
		fx.Supply(Dir(dir)),

		app.Service("api", NewAPI, modes.SeparateThread),
		app.Service("files", NewFiles, modes.SeparateProcess, lifecycle.WaitForReady()),
		app.Service("worker", NewWorker, modes.SeparateProcess, lifecycle.Replicas(2), lifecycle.WaitForReady()),

		gateway.Module( // after the services
			gateway.Route("/api/", "api", gateway.Handler(func(api *API) http.Handler { return api })),
			gateway.Route("/files/", "files", gateway.Unix(filepath.Join(dir, "files.sock"))),
			gateway.Route("/work/", "worker", gateway.Unix(filepath.Join(dir, "worker-{replica}.sock"))),
		),
		ops.Module(), // after the gateway: /readyz fails before it stops taking requests
		fx.Invoke(announce),
	).Run()
}
