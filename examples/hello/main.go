// Command hello is the smallest hostfx program: one service on the main
// event loop that logs a greeting every second until SIGINT or SIGTERM,
// then stops and exits 0.
package main

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// Greeter greets on the main event loop. Its callbacks never run
// concurrently, so count needs no lock.
type Greeter struct {
	log   *zap.Logger
	count int
}

// NewGreeter is an ordinary fx constructor; the logger comes from the app.
func NewGreeter(log *zap.Logger) *Greeter {
	return &Greeter{log: log}
}

// RunAsync runs on the loop: it schedules the greeting and returns at once.
func (g *Greeter) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(time.Second, func() {
		g.count++
		g.log.Info("hello", zap.Int("count", g.count))
	})
	return nil
}

func main() {
	app.New(
		app.Service("greeter", NewGreeter, modes.MainEventLoopAsync),
	).Run()
}
