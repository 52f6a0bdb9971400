package app_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// BenchmarkAppStartStop builds, starts and stops an app of n services on
// the main loop; BenchmarkFxStartStop is the same with plain fx and n
// providers that each append a hook.
func BenchmarkAppStartStop(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			opts := []fx.Option{quiet(), fx.NopLogger, manyServices(n, modes.MainEventLoopAsync)}
			b.ReportAllocs()
			for b.Loop() {
				a := newAppB(b, opts...)
				if err := a.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				if err := a.Stop(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppNew builds an app of 1000 services on the main loop;
// BenchmarkFxNew builds the plain fx app of BenchmarkFxStartStop.
func BenchmarkAppNew(b *testing.B) {
	opts := []fx.Option{quiet(), fx.NopLogger, manyServices(1000, modes.MainEventLoopAsync)}
	b.ReportAllocs()
	for b.Loop() {
		newAppB(b, opts...)
	}
}

func BenchmarkFxNew(b *testing.B) {
	opts := fxHooked(1000)
	b.ReportAllocs()
	for b.Loop() {
		if err := fx.New(opts...).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// manyServices registers one constructor as n services, s0, s1, ...
func manyServices(n int, mode modes.ExecutionMode) fx.Option {
	opts := make([]fx.Option, n)
	for i := range n {
		opts[i] = app.Service(fmt.Sprint("s", i), leaf[struct{}], mode)
	}
	return fx.Options(opts...)
}

type hooked struct{}

// fxHooked is a plain fx app of n providers that each append a hook.
func fxHooked(n int) []fx.Option {
	opts := []fx.Option{fx.NopLogger}
	for range n {
		opts = append(opts, fx.Provide(fx.Annotated{Group: "hooked", Target: func(lc fx.Lifecycle) *hooked {
			lc.Append(fx.Hook{
				OnStart: func(context.Context) error { return nil },
				OnStop:  func(context.Context) error { return nil },
			})
			return &hooked{}
		}}))
	}
	return append(opts, fx.Invoke(fx.Annotate(func([]*hooked) {}, fx.ParamTags(`group:"hooked"`))))
}

func BenchmarkFxStartStop(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			opts := fxHooked(n)
			b.ReportAllocs()
			for b.Loop() {
				a := fx.New(opts...)
				if err := a.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				if err := a.Stop(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkThreadStartStop starts and stops one SEPARATE_THREAD service
// in a running app; BenchmarkRawLockedGoroutine starts and ends a goroutine
// locked to a fresh OS thread.
func BenchmarkThreadStartStop(b *testing.B) {
	a := newAppB(b, quiet(), fx.NopLogger, app.Service("s0", leaf[struct{}], modes.SeparateThread))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := a.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawLockedGoroutine(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		started, stop, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			defer close(done)
			close(started)
			<-stop
		}()
		<-started
		close(stop)
		<-done
	}
}

// BenchmarkCall calls a service in each in-process mode, one call after
// another.
func BenchmarkCall(b *testing.B) {
	for _, mode := range []modes.ExecutionMode{modes.SeparateThread, modes.SeparateThreadAsync, modes.MainEventLoopAsync} {
		b.Run(mode.String(), func(b *testing.B) {
			a := newAppB(b, quiet(), fx.NopLogger, app.Service("echo", func() *echo { return &echo{} }, mode))
			if err := a.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = a.Stop(context.Background()) }()
			req := []byte{1}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Call(context.Background(), "echo", req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// echo answers each call with its request, in any mode.
type echo struct{}

func (*echo) Run(ctx context.Context) error                          { <-ctx.Done(); return nil }
func (*echo) RunAsync(context.Context, modes.Loop) error             { return nil }
func (*echo) HandleCall(_ context.Context, r []byte) ([]byte, error) { return r, nil }
