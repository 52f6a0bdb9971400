package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Cache warms up before it can serve, so it is registered with
// WaitForReady and says when it is ready.
type Cache struct{}

func NewCache() *Cache { return &Cache{} }

func (*Cache) Run(ctx context.Context) error {
	fmt.Println("cache: warmed up")
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

// quietly keeps the examples' output to what they print themselves.
var quietly = fx.Options(app.Logger(zap.NewNop()), fx.NopLogger)

func ExampleOption() {
	for _, o := range []lifecycle.Option{
		lifecycle.StartTimeout(30 * time.Second),
		lifecycle.StopTimeout(5 * time.Second),
		lifecycle.WaitForReady(),
	} {
		fmt.Println(o)
	}
	// Output:
	// lifecycle.StartTimeout(30s)
	// lifecycle.StopTimeout(5s)
	// lifecycle.WaitForReady()
}

func ExampleSettings_With() {
	s := lifecycle.DefaultSettings().With(lifecycle.StopTimeout(time.Minute))
	fmt.Println(s.StartTimeout, s.StopTimeout, s.WaitForReady)
	// Output:
	// 15s 1m0s false
}

func ExampleWaitForReady() {
	a := app.New(quietly,
		app.Service("cache", NewCache, modes.SeparateThread, lifecycle.WaitForReady()),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil { // returns once the cache called Ready
		fmt.Println(err)
		return
	}
	fmt.Println("app: started")
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// cache: warmed up
	// app: started
}

func ExampleObserver() {
	var observe lifecycle.Observer = func(e lifecycle.Event) {
		fmt.Printf("%T\n", e)
	}
	a := app.New(quietly, app.Observe(observe),
		app.Service("cache", NewCache, modes.SeparateThread),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// *lifecycle.Starting
	// cache: warmed up
	// *lifecycle.Started
	// *lifecycle.Stopping
	// *lifecycle.Stopped
}

func ExampleZapObserver() {
	observe := lifecycle.ZapObserver(zap.NewExample())
	observe(&lifecycle.Stopping{Service: "cache", Mode: modes.SeparateThread})
	observe(&lifecycle.Stopped{
		Service:  "cache",
		Mode:     modes.SeparateThread,
		Duration: 5 * time.Second,
		Err:      &lifecycle.TimeoutError{Service: "cache", Phase: "stop", Timeout: 5 * time.Second},
		Detached: true,
	})
	// Output:
	// {"level":"info","msg":"stopping","event":"stopping","service":"cache","mode":"SEPARATE_THREAD"}
	// {"level":"error","msg":"detached","event":"detached","service":"cache","mode":"SEPARATE_THREAD","duration":"5s","error":"service \"cache\": stop timed out after 5s"}
}

func ExampleTimeoutError() {
	err := fmt.Errorf("shutdown: %w",
		&lifecycle.TimeoutError{Service: "cache", Phase: "stop", Timeout: 5 * time.Second})

	fmt.Println(errors.Is(err, lifecycle.ErrTimeout))
	var te *lifecycle.TimeoutError
	if errors.As(err, &te) {
		fmt.Println(te.Service, te.Phase, te.Timeout)
	}
	fmt.Println(err)
	// Output:
	// true
	// cache stop 5s
	// shutdown: service "cache": stop timed out after 5s
}
