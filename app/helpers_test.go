package app_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// node is a service type per K, for tests that tell services apart by type.
type node[K any] struct{ runs atomic.Int32 }

// crashGate, when set, makes every node's first run crash once it closes.
var crashGate atomic.Pointer[chan struct{}]

func (n *node[K]) Run(ctx context.Context) error {
	if gate := crashGate.Load(); gate != nil && n.runs.Add(1) == 1 {
		select {
		case <-*gate:
			return errors.New("crashed with the others")
		case <-ctx.Done():
			return nil
		}
	}
	<-ctx.Done()
	return nil
}

func (*node[K]) RunAsync(context.Context, modes.Loop) error { return nil }

func leaf[K any]() *node[K]                         { return &node[K]{} }
func child[K, P any](*node[P]) *node[K]             { return &node[K]{} }
func join[K, P, Q any](*node[P], *node[Q]) *node[K] { return &node[K]{} }

// recorder collects lifecycle events.
type recorder struct {
	mu     sync.Mutex
	events []lifecycle.Event
	notify chan lifecycle.Event
}

func newRecorder() *recorder { return &recorder{notify: make(chan lifecycle.Event, 1024)} }

func (r *recorder) option() fx.Option { return app.Observe(r.observe) }

func (r *recorder) observe(e lifecycle.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- e:
	default:
	}
}

// names lists, in order, the services of events of type E that pass keep.
func names[E lifecycle.Event](r *recorder, keep func(E) bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e, ok := e.(E); ok && (keep == nil || keep(e)) {
			out = append(out, serviceOf(e))
		}
	}
	return out
}

func serviceOf(e lifecycle.Event) string {
	switch e := e.(type) {
	case *lifecycle.Starting:
		return e.Service
	case *lifecycle.Started:
		return e.Service
	case *lifecycle.Stopping:
		return e.Service
	case *lifecycle.Stopped:
		return e.Service
	case *lifecycle.Crashed:
		return e.Service
	case *lifecycle.Exited:
		return e.Service
	case *lifecycle.Stalled:
		return e.Service
	case *lifecycle.Restarting:
		return e.Service
	case *lifecycle.GaveUp:
		return e.Service
	case *lifecycle.Replacing:
		return e.Service
	case *lifecycle.Replaced:
		return e.Service
	}
	return ""
}

// waitFor returns the first event of type E for service, waiting for it.
func waitFor[E lifecycle.Event](t *testing.T, r *recorder, service string) E {
	t.Helper()
	return waitUntil[E](t.Context(), t, r, service)
}

// waitUntil returns the first event of type E for service, waiting for it
// until ctx ends.
func waitUntil[E lifecycle.Event](ctx context.Context, t *testing.T, r *recorder, service string) E {
	t.Helper()
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if e, ok := e.(E); ok && serviceOf(e) == service {
				r.mu.Unlock()
				return e
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-ctx.Done():
			var zero E
			t.Fatalf("no %T for %q: %v", zero, service, ctx.Err())
			return zero
		}
	}
}

func succeeded(e *lifecycle.Started) bool { return e.Err == nil }

func quiet() fx.Option { return app.Logger(zap.NewNop()) }

func newApp(t *testing.T, opts ...fx.Option) *app.App {
	t.Helper()
	a := app.New(append([]fx.Option{quiet(), fx.NopLogger}, opts...)...)
	require.NoError(t, a.Err())
	return a
}

func newAppB(b *testing.B, opts ...fx.Option) *app.App {
	b.Helper()
	a := app.New(opts...)
	if err := a.Err(); err != nil {
		b.Fatal(err)
	}
	return a
}

// here returns this call's file:line, as app.Service records it.
func here() string {
	_, file, line, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
