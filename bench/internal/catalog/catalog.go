// Package catalog holds the services the benchmarks build apps from. A
// service is its name, so one type serves every benchmark: an app of n
// services registers one constructor n times. Its fx baseline is the same
// graph in plain fx: n providers of one type, told apart by name tags, each
// appending a hook, and an invoke of each.
package catalog

import (
	"bytes"
	"context"
	"fmt"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// node is a service that does nothing until it is stopped.
type node struct{}

func (*node) Run(ctx context.Context) error              { <-ctx.Done(); return nil }
func (*node) RunAsync(context.Context, modes.Loop) error { return nil }

// HandleCall answers the calls the process benchmarks make.
func (*node) HandleCall(_ context.Context, request []byte) ([]byte, error) { return Echo(request) }

func newNode() *node { return &node{} }

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
type hooked struct{}

func newHooked(lc fx.Lifecycle) *hooked {
	lc.Append(fx.Hook{OnStart: nop, OnStop: nop})
	return &hooked{}
}

func useHooked(*hooked) {}

func nop(context.Context) error { return nil }

// Service registers a hostfx service called name.
func Service(name string, mode modes.ExecutionMode, opts ...lifecycle.Option) fx.Option {
	return app.Service(name, newNode, mode, opts...)
}

// Services registers n services named prefix0, prefix1, ...
func Services(prefix string, n int, mode modes.ExecutionMode, opts ...lifecycle.Option) fx.Option {
	out := make([]fx.Option, n)
	for i := range n {
		out[i] = Service(fmt.Sprint(prefix, i), mode, opts...)
	}
	return fx.Options(out...)
}

// Hooked gives plain fx what one hostfx service gives it: a provider whose
// constructor appends a hook, under the name tag name, and an invoke that
// makes fx build it.
func Hooked(name string) fx.Option {
	tag := fmt.Sprintf("name:%q", name)
	return fx.Options(
		fx.Provide(fx.Annotate(newHooked, fx.ResultTags(tag))),
		fx.Invoke(fx.Annotate(useHooked, fx.ParamTags(tag))),
	)
}

// HookedN is Hooked for n names, h0, h1, ...
func HookedN(n int) fx.Option {
	out := make([]fx.Option, n)
	for i := range n {
		out[i] = Hooked(fmt.Sprint("h", i))
	}
	return fx.Options(out...)
}
