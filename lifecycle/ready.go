package lifecycle

import "context"

type readyKey struct{}

// WithReady returns a context whose Ready calls signal. Executors use it to
// build the context a service's entry point receives.
func WithReady(ctx context.Context, signal func()) context.Context {
	return context.WithValue(ctx, readyKey{}, signal)
}

// Ready tells the framework that the service running with ctx is ready, for
// services registered with WaitForReady. Calling it more than once, or for
// a service without WaitForReady, does nothing.
func Ready(ctx context.Context) {
	if signal, ok := ctx.Value(readyKey{}).(func()); ok {
		signal()
	}
}

type aliveKey struct{}

// WithAlive returns a context whose Alive calls signal. Executors use it to
// build the context a blocking service's entry point receives.
func WithAlive(ctx context.Context, signal func()) context.Context {
	return context.WithValue(ctx, aliveKey{}, signal)
}

// Alive tells the service's watchdog that the blocking service running
// with ctx makes progress (see Watchdog). A service with a watchdog calls
// it at least once per period, from wherever proves that its work goes on,
// typically each turn of its main loop; it is cheap enough for that. It
// does nothing for a service without a watchdog, and in the async modes,
// where the service's loop is what the watchdog checks.
func Alive(ctx context.Context) {
	if signal, ok := ctx.Value(aliveKey{}).(func()); ok {
		signal()
	}
}
