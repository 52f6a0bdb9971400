// Command restarts shows a service that fails on every run. The supervisor
// restarts it with exponential backoff from 100ms, so the log shows the
// delay doubling: 100ms, 200ms, 400ms, 800ms. The service may restart 4
// times within a minute; its fifth failure exceeds that, so it gives up,
// the app stops the other service, logs why and exits 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Uplink tries to reach a server that is never there. A restart calls Run
// again on the same Uplink, so runs counts every run.
type Uplink struct {
	log  *zap.Logger
	runs int // touched only by Run, and runs never overlap: no lock
}

func NewUplink(log *zap.Logger) *Uplink {
	return &Uplink{log: log}
}

func (u *Uplink) Run(ctx context.Context) error {
	u.runs++
	u.log.Info("dialling", zap.Int("run", u.runs))
	select {
	case <-time.After(20 * time.Millisecond): // a dial that fails after a moment
	case <-ctx.Done():
		return nil
	}
	return fmt.Errorf("dial upstream: %w", errors.New("connection refused"))
}

// Clock ticks on the main event loop and never fails. It is stopped, like
// any other service, when the uplink gives up.
type Clock struct{ log *zap.Logger }

func NewClock(log *zap.Logger) *Clock {
	return &Clock{log: log}
}

func (c *Clock) RunAsync(_ context.Context, loop modes.Loop) error {
	loop.Every(500*time.Millisecond, func() { c.log.Info("tick") })
	return nil
}

func main() {
	app.New(
		app.Service("clock", NewClock, modes.MainEventLoopAsync),
		app.Service("uplink", NewUplink, modes.SeparateThread,
			// Wait 100ms before the first restart, then twice as long each
			// time, at most 2s, with no random jitter.
			lifecycle.Restart(lifecycle.ExponentialBackoff(100*time.Millisecond, 2*time.Second, 0)),
			// At most 4 restarts within a minute; the next failure gives up.
			lifecycle.Intensity(4, time.Minute),
		),
	).Run()
}
