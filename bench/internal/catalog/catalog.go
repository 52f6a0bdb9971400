// Package catalog holds the service types the benchmarks build apps from:
// Size distinct types, since fx provides values by type. Each type works as
// a hostfx service in every mode and as a plain fx provider with a hook, so
// hostfx and its fx baseline are measured on graphs of the same shape.
package catalog

//go:generate go run ../gensvc -n 10000 -o types_gen.go

import (
	"bytes"
	"context"
	"fmt"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// entry holds the functions of one type, as values fx can reflect on.
type entry struct {
	newNode   any // func() *node[K]
	newHooked any // func(fx.Lifecycle) *hooked[K]
	useHooked any // func(*hooked[K])
}

// node is a service that does nothing until it is stopped.
type node[K any] struct{}

func (*node[K]) Run(ctx context.Context) error               { <-ctx.Done(); return nil }
func (*node[K]) RunAsync(context.Context, *modes.Loop) error { return nil }

// HandleCall answers the calls the process benchmarks make.
func (*node[K]) HandleCall(_ context.Context, request []byte) ([]byte, error) { return Echo(request) }

func newNode[K any]() *node[K] { return &node[K]{} }

// EchoRequest is the call the process benchmarks make: a method name and
// an argument, the least a call to go-plugin's net/rpc server carries.
var EchoRequest = []byte("Plugin.Echo\x01")

// Echo answers EchoRequest with its argument.
func Echo(request []byte) ([]byte, error) {
	arg, ok := bytes.CutPrefix(request, []byte("Plugin.Echo"))
	if !ok || len(arg) != 1 {
		return nil, fmt.Errorf("catalog: want a call of Plugin.Echo with one byte, not %q", request)
	}
	return arg, nil
}

// hooked is the fx baseline's counterpart of node: a provided value whose
// constructor appends a start and a stop hook.
type hooked[K any] struct{}

func newHooked[K any](lc fx.Lifecycle) *hooked[K] {
	lc.Append(fx.Hook{OnStart: nop, OnStop: nop})
	return &hooked[K]{}
}

func useHooked[K any](*hooked[K]) {}

func nop(context.Context) error { return nil }

// Service registers type i as a hostfx service called name.
func Service(name string, i int, mode modes.ExecutionMode, opts ...lifecycle.Option) fx.Option {
	return app.Service(name, entries[i].newNode, mode, opts...)
}

// Services registers types [0, n) as services named prefix0, prefix1, ...
func Services(prefix string, n int, mode modes.ExecutionMode, opts ...lifecycle.Option) fx.Option {
	if n > Size {
		return fx.Error(fmt.Errorf("catalog: %d services asked, %d types generated", n, Size))
	}
	out := make([]fx.Option, n)
	for i := range n {
		out[i] = Service(fmt.Sprint(prefix, i), i, mode, opts...)
	}
	return fx.Options(out...)
}

// Hooked gives plain fx what one hostfx service gives it: a provider of
// type i whose constructor appends a hook, and an invoke that makes fx
// build it.
func Hooked(i int) fx.Option {
	return fx.Options(fx.Provide(entries[i].newHooked), fx.Invoke(entries[i].useHooked))
}

// HookedN is Hooked for types [0, n).
func HookedN(n int) fx.Option {
	if n > Size {
		return fx.Error(fmt.Errorf("catalog: %d providers asked, %d types generated", n, Size))
	}
	out := make([]fx.Option, n)
	for i := range n {
		out[i] = Hooked(i)
	}
	return fx.Options(out...)
}
