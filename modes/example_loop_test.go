package modes_test

import (
	"fmt"
	"time"

	"github.com/hostfx/hostfx/modes"
)

// A standalone EventLoop run on the calling goroutine, with one service's
// view posting work and setting a timer that stops the loop.
func ExampleEventLoop() {
	loop := modes.NewEventLoop(modes.LoopConfig{Name: "main"})
	svc := loop.Scope("greeter")

	svc.After(10*time.Millisecond, func() {
		fmt.Println("timer fired")
		loop.Stop()
	})
	svc.Post(func() { fmt.Println("hello from", svc.Name()) })

	loop.Run() // returns after Stop
	<-svc.Done()
	fmt.Println("view closed:", svc.Err())
	// Output:
	// hello from greeter
	// timer fired
	// view closed: event loop stopped
}
