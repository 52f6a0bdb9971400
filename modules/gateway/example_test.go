package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
)

// API is a service that is its own http.Handler.
type API struct{}

func NewAPI() *API { return &API{} }

func (*API) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (*API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = fmt.Fprintf(w, "api: %s", r.URL.Path)
}

// show prints the status code and body of a GET.
func show(url string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Printf("%d %s\n", resp.StatusCode, strings.TrimSpace(string(body)))
}

func Example() {
	var srv *gateway.Server
	a := app.New(app.Logger(zap.NewNop()), fx.NopLogger,
		app.Service("api", NewAPI, modes.SeparateThread),
		gateway.Module( // after the services
			gateway.Addr("127.0.0.1:0"),
			gateway.Route("/api/", "api", gateway.Handler(func(api *API) http.Handler { return api })),
		),
		fx.Populate(&srv), // to learn the port; a program sets one
	)
	if err := a.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	show("http://" + srv.Addr() + "/api/users")
	show("http://" + srv.Addr() + "/admin")
	if err := a.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 200 api: /api/users
	// 404 404 Not Found: no route
}

// Files serves files over HTTP on a unix socket, as a service in another
// process, or in another language, might.
type Files struct{ socket string }

func (f *Files) Run(ctx context.Context) error {
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "file %s", r.URL.Path)
	})}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	lifecycle.Ready(ctx) // with WaitForReady, it takes requests from now on
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func ExampleUnix() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	socket := filepath.Join(dir, "files.sock")

	var srv *gateway.Server
	a := app.New(app.Logger(zap.NewNop()), fx.NopLogger,
		app.Service("files", func() *Files { return &Files{socket: socket} }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/files/", "files", gateway.Unix(socket))),
		fx.Populate(&srv),
	)
	if err := a.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	show("http://" + srv.Addr() + "/files/report.pdf")
	if err := a.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 200 file /files/report.pdf
}
