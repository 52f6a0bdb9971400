package config_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/modules/config"
)

// HTTP is the section the examples bind.
type HTTP struct {
	Host    string        `default:"localhost"`
	Port    int           `default:"8080" validate:"min=1,max=65535"`
	Timeout time.Duration `default:"30s"`
	MaxBody config.Size   `default:"1MiB"`
	Token   string        `secret:"true"`
}

func Example() {
	c, err := config.New(
		config.Defaults("http", HTTP{}),
		// In main: config.File("config.yaml"), config.Env("APP_"),
		// config.Args(os.Args[1:]).
		config.Args([]string{"--http.port=9090", "--http.token=hunter2"}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := config.Bind[HTTP](c, "http")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Host, h.Port, h.Timeout, h.MaxBody)
	_ = c.Print(os.Stdout)
	// Output:
	// localhost 9090 30s 1MiB
	// http.host      = "localhost"  # defaults
	// http.max_body  = "1MiB"       # defaults
	// http.port      = "9090"       # flag --http.port
	// http.timeout   = "30s"        # defaults
	// http.token     = [redacted]   # flag --http.token
}

func ExampleBind_errors() {
	c, _ := config.New(config.Args([]string{"--http.port=99999", "--http.timeout=soon", "--http.hots=x"}))
	_, err := config.Bind[HTTP](c, "http")
	fmt.Println(err)
	// Output:
	// config: 3 problems:
	// 	http.hots = "x" (flag --http.hots): unknown key; did you mean "host"?
	// 	http.port = "99999" (flag --http.port): want at most 65535
	// 	http.timeout = "soon" (flag --http.timeout): want a duration such as 300ms, 30s or 1h30m
}

func ExampleConfig_Service() {
	c, _ := config.New(config.Args([]string{
		"--services.worker.mode=separate-thread-async",
		"--services.worker.stop_timeout=5s",
	}))
	s, ok := c.Service("worker")
	fmt.Println(ok, s.Mode, s.StopTimeout, s.Sources["mode"])
	// Output:
	// true SEPARATE_THREAD_ASYNC 5s flag --services.worker.mode
}

func ExampleModule() {
	app := fx.New(fx.NopLogger,
		config.Module(config.Args([]string{"--http.host=example.org"})),
		config.Provide[HTTP]("http"),
		fx.Invoke(func(h *HTTP) { fmt.Println("listening on", h.Host, h.Port) }),
	)
	if err := app.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	_ = app.Stop(context.Background())
	// Output:
	// listening on example.org 8080
}

// A Format of your own reads files the package does not know; here,
// "key value" lines, all at the top level.
func ExampleFormats() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := os.WriteFile(filepath.Join(dir, "app.conf"), []byte("host example.org\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	lines := config.Format{
		Name:       "key-value lines",
		Extensions: []string{".conf"},
		Parse: func(data []byte) (map[string]any, error) {
			m := map[string]any{}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				k, v, _ := strings.Cut(line, " ")
				m[k] = v
			}
			return m, nil
		},
	}
	c, err := config.New(config.Formats(lines), config.Dir(dir), config.File("app.conf"))
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := config.Bind[HTTP](c, "")
	fmt.Println(h.Host, h.Port, err)
	// Output: example.org 8080 <nil>
}
