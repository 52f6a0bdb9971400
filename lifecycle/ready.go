package lifecycle

import (
	"context"

	"github.com/hostfx/hostfx/internal/signs"
)

// Ready tells the framework that the service running with ctx is ready, for
// services registered with WaitForReady. Calling it more than once, or for
// a service without WaitForReady, does nothing.
func Ready(ctx context.Context) {
	signs.Ready(ctx)
}

// Alive tells the service's watchdog that the blocking service running
// with ctx makes progress (see Watchdog). A service with a watchdog calls
// it at least once per period, from wherever proves that its work goes on,
// typically each turn of its main loop; it is cheap enough for that. It
// does nothing for a service without a watchdog, and in the async modes,
// where the service's loop is what the watchdog checks.
func Alive(ctx context.Context) {
	signs.Alive(ctx)
}
