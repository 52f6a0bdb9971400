package ops_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/ops"
)

// Worker runs until it is stopped.
type Worker struct{}

func NewWorker() *Worker { return &Worker{} }

func (*Worker) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// show prints the status code and body of a GET.
func show(url string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Printf("%d %s\n", resp.StatusCode, body)
}

func Example() {
	var srv *ops.Server
	a := app.New(app.Logger(zap.NewNop()), fx.NopLogger,
		app.Service("worker", NewWorker, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0")), // after the services
		fx.Populate(&srv),                   // to learn the port; a program sets one
	)
	if err := a.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	show("http://" + srv.Addr() + "/livez")
	show("http://" + srv.Addr() + "/readyz?verbose")
	if err := a.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 200 ok
	// 200 [+]supervisor ok
	// [+]main-loop ok
	// [+]started ok
	// [+]shutdown ok
	// [+]service/worker ok
	// readyz check passed
}

// Queue is a dependency the program checks itself.
type Queue struct{ connected bool }

func (q *Queue) Ping(context.Context) error {
	if !q.connected {
		return errors.New("queue: not connected")
	}
	return nil
}

func ExampleAsCheck() {
	var srv *ops.Server
	a := app.New(app.Logger(zap.NewNop()), fx.NopLogger,
		fx.Supply(&Queue{}),
		fx.Provide(ops.AsCheck(func(q *Queue) ops.Check {
			return ops.Check{Name: "queue", Func: q.Ping}
		})),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	if err := a.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	show("http://" + srv.Addr() + "/readyz")
	show("http://" + srv.Addr() + "/readyz/queue")
	if err := a.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 503 [+]supervisor ok
	// [+]main-loop ok
	// [+]started ok
	// [+]shutdown ok
	// [-]queue failed: queue: not connected
	// readyz check failed
	//
	// 503 internal server error: queue: not connected
}
