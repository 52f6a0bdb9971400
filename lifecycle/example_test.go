package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Cache warms up before it can serve, so it is registered with
// WaitForReady and says when it is ready.
type Cache struct{}

func NewCache() *Cache { return &Cache{} }

func (*Cache) Run(ctx context.Context) error {
	fmt.Println("cache: warmed up")
	lifecycle.Ready(ctx)
	<-ctx.Done()
	return nil
}

// quietly keeps the examples' output to what they print themselves.
var quietly = fx.Options(app.Logger(zap.NewNop()), fx.NopLogger)

func ExampleOption() {
	for _, o := range []lifecycle.Option{
		lifecycle.StartTimeout(30 * time.Second),
		lifecycle.StopTimeout(5 * time.Second),
		lifecycle.WaitForReady(),
		lifecycle.Restart(lifecycle.ExponentialBackoff(100*time.Millisecond, 2*time.Second, 0)),
		lifecycle.RestartPolicy(lifecycle.Always),
		lifecycle.Intensity(4, time.Minute),
		lifecycle.StableAfter(30 * time.Second),
		lifecycle.FailAlone(),
	} {
		fmt.Println(o)
	}
	// Output:
	// lifecycle.StartTimeout(30s)
	// lifecycle.StopTimeout(5s)
	// lifecycle.WaitForReady()
	// lifecycle.Restart(EXPONENTIAL_BACKOFF(100ms, 2s, 0s))
	// lifecycle.RestartPolicy(ALWAYS)
	// lifecycle.Intensity(4, 1m0s)
	// lifecycle.StableAfter(30s)
	// lifecycle.FailAlone()
}

func ExampleSettings_With() {
	s := lifecycle.DefaultSettings().With(lifecycle.StopTimeout(time.Minute))
	fmt.Println(s.StartTimeout, s.StopTimeout, s.WaitForReady)
	fmt.Println(s.Restart, s.Policy, s.MaxRestarts, s.Window, s.Stable())
	// Output:
	// 15s 1m0s false
	// EXPONENTIAL_BACKOFF(1s, 1m0s, 5s) ON_FAILURE 5 1m0s 1m0s
}

// Flaky fails its first run. A restart calls Run again on the same Flaky,
// so runs counts every run; runs never overlap, so it needs no lock.
type Flaky struct {
	runs int
	up   chan struct{}
}

func (f *Flaky) Run(ctx context.Context) error {
	f.runs++
	if f.runs == 1 {
		fmt.Println("flaky: run 1 fails")
		return errors.New("connection refused")
	}
	fmt.Printf("flaky: run %d is up\n", f.runs)
	close(f.up)
	<-ctx.Done()
	return nil
}

func ExampleRestart() {
	f := &Flaky{up: make(chan struct{})}
	a := app.New(quietly,
		app.Observe(func(e lifecycle.Event) {
			if r, ok := e.(*lifecycle.Restarting); ok {
				fmt.Printf("restarting %s: attempt %d in %v after %v\n", r.Service, r.Attempt, r.Delay, r.Cause)
			}
		}),
		app.Service("flaky", func() *Flaky { return f }, modes.SeparateThread,
			lifecycle.Restart(lifecycle.FixedBackoff(10*time.Millisecond)),
			lifecycle.Intensity(3, time.Minute),
		),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	<-f.up
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// flaky: run 1 fails
	// restarting flaky: attempt 1 in 10ms after connection refused
	// flaky: run 2 is up
}

func ExampleExponentialBackoff() {
	// The defaults: 1s doubling to 60s, plus a random jitter of up to 5s
	// and at most half the delay, so the first restart comes after 1s to
	// 1.5s, the second after 2s to 3s.
	s := lifecycle.ExponentialBackoff(time.Second, time.Minute, 5*time.Second)
	fmt.Println(s)
	fmt.Println(s == lifecycle.DefaultStrategy(lifecycle.StrategyExponentialBackoff))
	// Output:
	// EXPONENTIAL_BACKOFF(1s, 1m0s, 5s)
	// true
}

func ExampleParseStrategyKind() {
	// Names as configuration files spell them; case and separators do not
	// matter. A strategy read by name gets its default parameters.
	k, err := lifecycle.ParseStrategyKind("exponential-backoff")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lifecycle.Restart(lifecycle.DefaultStrategy(k)))

	var p lifecycle.Policy
	if err := p.UnmarshalText([]byte("on_failure")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lifecycle.RestartPolicy(p))

	_, err = lifecycle.ParseStrategyKind("sometimes")
	fmt.Println(errors.Is(err, lifecycle.ErrUnknownStrategy))
	// Output:
	// lifecycle.Restart(EXPONENTIAL_BACKOFF(1s, 1m0s, 5s))
	// lifecycle.RestartPolicy(ON_FAILURE)
	// true
}

func ExampleWaitForReady() {
	a := app.New(quietly,
		app.Service("cache", NewCache, modes.SeparateThread, lifecycle.WaitForReady()),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil { // returns once the cache called Ready
		fmt.Println(err)
		return
	}
	fmt.Println("app: started")
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// cache: warmed up
	// app: started
}

func ExampleObserver() {
	var observe lifecycle.Observer = func(e lifecycle.Event) {
		fmt.Printf("%T\n", e)
	}
	a := app.New(quietly, app.Observe(observe),
		app.Service("cache", NewCache, modes.SeparateThread),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// *lifecycle.Starting
	// cache: warmed up
	// *lifecycle.Started
	// *lifecycle.Stopping
	// *lifecycle.Stopped
}

func ExampleZapObserver() {
	observe := lifecycle.ZapObserver(zap.NewExample())
	observe(&lifecycle.Stopping{Service: "cache", Mode: modes.SeparateThread})
	observe(&lifecycle.Stopped{
		Service:  "cache",
		Mode:     modes.SeparateThread,
		Duration: 5 * time.Second,
		Err:      &lifecycle.TimeoutError{Service: "cache", Phase: "stop", Timeout: 5 * time.Second},
		Detached: true,
	})
	refused := errors.New("connection refused")
	observe(&lifecycle.Restarting{Service: "feed", Mode: modes.SeparateProcess, Attempt: 2, Delay: 2 * time.Second, Cause: refused})
	observe(&lifecycle.GaveUp{Service: "feed", Mode: modes.SeparateProcess, Restarts: 5, Window: time.Minute, Cause: refused})
	// Output:
	// {"level":"info","msg":"stopping","event":"stopping","service":"cache","mode":"SEPARATE_THREAD"}
	// {"level":"error","msg":"detached","event":"detached","service":"cache","mode":"SEPARATE_THREAD","duration":"5s","error":"service \"cache\": stop timed out after 5s"}
	// {"level":"warn","msg":"restarting","event":"restarting","service":"feed","mode":"SEPARATE_PROCESS","attempt":2,"delay":"2s","error":"connection refused"}
	// {"level":"error","msg":"gave-up","event":"gave-up","service":"feed","mode":"SEPARATE_PROCESS","restarts":5,"window":"1m0s","error":"connection refused"}
}

func ExampleTimeoutError() {
	err := fmt.Errorf("shutdown: %w",
		&lifecycle.TimeoutError{Service: "cache", Phase: "stop", Timeout: 5 * time.Second})

	fmt.Println(errors.Is(err, lifecycle.ErrTimeout))
	var te *lifecycle.TimeoutError
	if errors.As(err, &te) {
		fmt.Println(te.Service, te.Phase, te.Timeout)
	}
	fmt.Println(err)
	// Output:
	// true
	// cache stop 5s
	// shutdown: service "cache": stop timed out after 5s
}
