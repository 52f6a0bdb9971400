package systemd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/systemd"
)

// Worker runs until it is stopped.
type Worker struct{}

func NewWorker() *Worker { return &Worker{} }

func (*Worker) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func ExampleModule() {
	// systemd listens on a socket and names it in NOTIFY_SOCKET; here the
	// example does.
	dir, _ := os.MkdirTemp("", "notify")
	defer func() { _ = os.RemoveAll(dir) }()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = conn.Close() }()
	_ = os.Setenv("NOTIFY_SOCKET", sock) // the module takes it out of the environment

	a := app.New(app.Logger(zap.NewNop()), fx.NopLogger,
		app.Service("worker", NewWorker, modes.SeparateThread),
		systemd.Module(), // after the services
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	fmt.Println(string(buf[:n]))
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
		return
	}
	n, _ = conn.Read(buf)
	fmt.Println(string(buf[:n]))
	// Output:
	// READY=1
	// STOPPING=1
}
