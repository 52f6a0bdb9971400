package modes_test

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// greeter is an async service: RunAsync schedules its work on its loop
// and returns.
type greeter struct{ done chan struct{} }

func (g *greeter) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Post(func() { fmt.Println("hello from", loop.Name()) })
	loop.After(10*time.Millisecond, func() {
		fmt.Println("timer fired")
		close(g.done)
	})
	return nil
}

// An async service sees its loop as a modes.Loop: Post, After, Every, Go
// and Exit, each callback on the loop's goroutine.
func ExampleLoop() {
	g := &greeter{done: make(chan struct{})}
	a := app.New(app.Logger(zap.NewNop()),
		app.Service("greeter", func() *greeter { return g }, modes.SeparateThreadAsync))
	if err := a.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	<-g.done
	if err := a.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hello from greeter
	// timer fired
}
