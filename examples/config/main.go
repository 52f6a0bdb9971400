// Command config runs one service whose settings come from layered
// configuration, lowest first: the defaults of AppConfig,
// config.common.yaml, config.<profile>.yaml for the profile in
// APP_PROFILE (development unless set), DEMO_* environment variables,
// and --key=value flags. The service's execution mode comes from
// services.greeter.mode, so the production profile moves it from
// SEPARATE_THREAD to SEPARATE_THREAD_ASYNC with no change to the code.
//
//	cd examples/config
//	go run .
//	APP_PROFILE=production go run .
//	DEMO_APP__MESSAGE=hi go run . --app.interval=3s
//	DEMO_APP__TOKEN_FILE=/run/secrets/token go run . --print-config
//
// It runs until SIGINT or SIGTERM, then exits 0.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/yaml"
)

// AppConfig is the app section of the configuration. Its validate tags
// use rules that the config package checks itself; for all of
// go-playground/validator's, such as email or url, add
// config.Validation(validate.New()) from modules/config/validate to the
// options.
type AppConfig struct {
	Message  string        `validate:"required"`
	Interval time.Duration `default:"1s" validate:"gt=0"`
	// Token is never printed or logged, wherever it comes from.
	Token string `secret:"true"`
}

// Greeter logs the configured message at the configured interval. It has
// both entry points, so the configuration may run it in either thread
// mode.
type Greeter struct {
	cfg AppConfig
	log *zap.Logger
}

// NewGreeter takes its section of the configuration from the graph.
func NewGreeter(cfg AppConfig, log *zap.Logger) *Greeter {
	return &Greeter{cfg: cfg, log: log}
}

func (g *Greeter) greet() {
	g.log.Info(g.cfg.Message, zap.Bool("has_token", g.cfg.Token != ""))
}

// Run is the SEPARATE_THREAD entry point: it blocks until ctx ends.
func (g *Greeter) Run(ctx context.Context) error {
	tick := time.NewTicker(g.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			g.greet()
		}
	}
}

// RunAsync is the SEPARATE_THREAD_ASYNC entry point: it schedules the
// greeting on the service's loop and returns.
func (g *Greeter) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(g.cfg.Interval, g.greet)
	return nil
}

// options lists the sources, lowest precedence first, read from dir.
func options(dir string, args []string) []config.Option {
	return []config.Option{
		config.Formats(yaml.Format()), // JSON is built in; YAML is linked only when asked for
		config.Dir(dir),
		config.Defaults("app", AppConfig{}),
		config.File("config.common.yaml"),
		config.ProfileFile("config.{profile}.yaml"),
		config.Profile("development"),
		config.ProfileFromEnv("APP_PROFILE"),
		config.Env("DEMO_"),
		config.Args(args),
		config.PrintConfigFlag(),
	}
}

// newApp builds the app from a loaded configuration.
// The services.greeter section overrides the mode, timeouts and restart
// settings registered here, through config.Supply: the app reads it before
// it builds the graph, so configuration can also move the greeter into a
// child process.
func newApp(c *config.Config, extra ...fx.Option) *app.App {
	return app.New(append(extra,
		config.Supply(c), // checks the bindings; applies services.*; handles --print-config
		config.Provide[AppConfig]("app"),
		app.Service("greeter", NewGreeter, modes.SeparateThread),
	)...)
}

func main() {
	c, err := config.New(options(".", os.Args[1:])...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	newApp(c).Run()
}
