package app_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/modes"
)

// BenchmarkAppStartStop builds, starts and stops an app of n services on
// the main loop; BenchmarkFxStartStop is the same with plain fx and n
// providers that each append a hook.
func BenchmarkAppStartStop(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			opts := []fx.Option{quiet(), fx.NopLogger}
			for i := range n {
				opts = append(opts, benchServices[i](modes.MainEventLoopAsync))
			}
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

type hooked struct{}

func BenchmarkFxStartStop(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			opts := []fx.Option{fx.NopLogger}
			for i := range n {
				opts = append(opts, fx.Provide(fx.Annotated{Group: "hooked", Target: func(lc fx.Lifecycle) *hooked {
					lc.Append(fx.Hook{
						OnStart: func(context.Context) error { return nil },
						OnStop:  func(context.Context) error { return nil },
					})
					return &hooked{}
				}}))
				_ = i
			}
			opts = append(opts, fx.Invoke(fx.Annotate(func([]*hooked) {}, fx.ParamTags(`group:"hooked"`))))
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
	a := newAppB(b, quiet(), fx.NopLogger, benchServices[0](modes.SeparateThread))
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
