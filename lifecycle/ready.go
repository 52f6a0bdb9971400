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
