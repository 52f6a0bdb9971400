package app

import (
	"context"
	"fmt"
	"runtime"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/internal/loop"
)

// The main event loop: under App.Run it runs on the process's main thread,
// otherwise on a goroutine locked to a thread of its own, started before
// the first service on it and stopped after the last.

// hookMainLoop makes the main loop start before the first service on it and
// stop after the last, unless App.Run is hosting it on the main thread.
func (h *host) hookMainLoop(lc fx.Lifecycle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mainHooked {
		return
	}
	h.mainHooked = true
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			if h.isMainHosted() {
				return nil
			}
			loop := h.freshLoop()
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				loop.Run()
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			if h.isMainHosted() {
				return nil
			}
			loop := h.loop()
			loop.Stop()
			select {
			case <-loop.Done():
				return nil
			case <-ctx.Done():
				return fmt.Errorf("main event loop: stop: %w", ctx.Err())
			}
		},
	})
}

// onMainThread hands run to the main thread if App.Run keeps it free for
// that; only once, since a child runs its service once.
func (h *host) onMainThread(run func()) bool {
	h.mu.Lock()
	runs := h.mainRuns
	h.mainRuns = nil
	h.mu.Unlock()
	if runs == nil {
		return false
	}
	runs <- run
	return true
}

// loop returns the main event loop.
func (h *host) loop() *loop.Engine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mainLoop
}

// freshLoop returns the main loop, replacing one that has already run, so
// an app can be started again after a stop.
func (h *host) freshLoop() *loop.Engine {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.mainLoop.Done():
		h.mainLoop = loop.New(loop.Config{Name: "main", OnStall: h.stalled, Spin: true})
	default:
	}
	return h.mainLoop
}

// needsMainLoop reports whether a service runs on the main loop.
func (h *host) needsMainLoop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mainHooked
}

func (h *host) isMainHosted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mainHosted
}
