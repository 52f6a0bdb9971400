// Command kubernetes is the app that deployment.yaml, beside it, runs on
// Kubernetes: an HTTP API and a worker in a child process, with the ops
// endpoints on a port of their own for the kubelet's probes.
//
// Its settings come from the environment, as the manifest sets them:
// APP_API__ADDR, APP_OPS__ADDR, APP_OPS__SHUTDOWN_DELAY, and the services'
// own, such as APP_SERVICES__WORKER__STOP_TIMEOUT.
//
//	cd examples/kubernetes
//	APP_OPS__ADDR=127.0.0.1:8181 go run .
//	curl 'localhost:8181/readyz?verbose'
//
// It runs until SIGINT or SIGTERM, then exits 0. docs/deploy-kubernetes.md
// follows it through a SIGTERM step by step.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/ops"
)

// stopBudget bounds the app's whole stop (fx.StopTimeout): the shutdown
// delay, then each service's stop timeout, and for a process-mode service
// the 5 s the app gives a child that overran it before its group is killed.
// terminationGracePeriodSeconds in deployment.yaml is longer still.
const stopBudget = 30 * time.Second

// APIConfig is the "api" section.
type APIConfig struct {
	Addr string `config:"addr" default:":8080"`
}

// API answers HTTP requests on a thread of its own.
type API struct {
	cfg APIConfig
	log *zap.Logger
}

// NewAPI builds the API from its section of the configuration.
func NewAPI(cfg APIConfig, log *zap.Logger) *API { return &API{cfg: cfg, log: log} }

// Run serves until ctx ends, then lets the requests under way finish.
func (a *API) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	a.log.Info("api listening", zap.String("addr", ln.Addr().String()))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("hello\n"))
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 4*time.Second) // within its stop timeout
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// Worker works in a child process until it is stopped.
type Worker struct{ log *zap.Logger }

// NewWorker builds the worker, in its child.
func NewWorker(log *zap.Logger) *Worker { return &Worker{log: log} }

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			w.log.Info("worked")
		}
	}
}

// options are the app, for main and for the tests.
func options() []fx.Option {
	return []fx.Option{
		// The program's logger: the app and the ops module both log to it.
		fx.Provide(app.NewLogger),
		config.Module(config.Env("APP_")),
		config.Provide[APIConfig]("api"),
		config.Provide[ops.Settings]("ops"),
		app.Service("api", NewAPI, modes.SeparateThread, lifecycle.StopTimeout(5*time.Second)),
		app.Service("worker", NewWorker, modes.SeparateProcess, lifecycle.StopTimeout(10*time.Second)),
		ops.Module(ops.ShutdownDelay(5 * time.Second)), // after the services
		fx.StopTimeout(stopBudget),
	}
}

func main() {
	app.New(options()...).Run()
}
