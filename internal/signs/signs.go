package signs

import "context"

type (
	readyKey struct{}
	aliveKey struct{}
)

// WithReady returns a context whose Ready calls signal.
func WithReady(ctx context.Context, signal func()) context.Context {
	return context.WithValue(ctx, readyKey{}, signal)
}

// Ready calls the ready signal ctx carries, if any.
func Ready(ctx context.Context) {
	if signal, ok := ctx.Value(readyKey{}).(func()); ok {
		signal()
	}
}

// WithAlive returns a context whose Alive calls signal.
func WithAlive(ctx context.Context, signal func()) context.Context {
	return context.WithValue(ctx, aliveKey{}, signal)
}

// Alive calls the sign-of-life signal ctx carries, if any.
func Alive(ctx context.Context) {
	if signal, ok := ctx.Value(aliveKey{}).(func()); ok {
		signal()
	}
}
