package loop_test

import (
	"runtime"
	"testing"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/loop"
)

// BenchmarkAwaitedRoundTrip is a round trip to a locked loop by a poster
// that looks for its answer, with the loop sleeping between posts and with
// both sides spinning; hits is the share of answers the spin found.
func BenchmarkAwaitedRoundTrip(b *testing.B) {
	for _, spin := range []bool{false, true} {
		b.Run(map[bool]string{false: "sleep", true: "spin"}[spin], func(b *testing.B) {
			el := loop.New(loop.Config{Name: "b", Spin: spin, StallThreshold: -1})
			go func() { runtime.LockOSThread(); el.Run() }()
			defer func() { el.Stop(); <-el.Done() }()
			v := el.Scope("x")
			answered := make(chan struct{}, 1)
			fn := func() { answered <- struct{}{} }
			hits := 0
			for b.Loop() {
				v.PostAwaited(fn)
				if spin && chans.Spin(func() bool { return len(answered) > 0 }) {
					hits++
				}
				<-answered
			}
			b.ReportMetric(float64(hits)/float64(b.N), "hits")
		})
	}
}
