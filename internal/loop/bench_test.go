package loop_test

import (
	"testing"

	"github.com/hostfx/hostfx/internal/loop"
)

// benchLoop runs an Engine with the default config, watchdog included,
// until the benchmark ends.
func benchLoop(b *testing.B) *loop.View {
	b.Helper()
	l := loop.New(loop.Config{Name: "bench"})
	go l.Run()
	b.Cleanup(func() {
		l.Stop()
		<-l.Done()
	})
	return l.Scope("bench")
}

// BenchmarkLoopPost measures throughput: posts from one goroutine to a
// running loop, timed until all of them ran. Compare with BenchmarkChanPost.
func BenchmarkLoopPost(b *testing.B) {
	s := benchLoop(b)
	ran := 0 // touched only on the loop
	fn := func() { ran++ }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Post(fn)
	}
	done := make(chan struct{})
	s.Post(func() { close(done) })
	<-done
}

// BenchmarkChanPost is the baseline for BenchmarkLoopPost: funcs sent over
// a buffered channel to one goroutine that runs them.
func BenchmarkChanPost(b *testing.B) {
	ch := make(chan func(), 1024)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for fn := range ch {
			fn()
		}
	}()
	ran := 0
	fn := func() { ran++ }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ch <- fn
	}
	done := make(chan struct{})
	ch <- func() { close(done) }
	<-done
	b.StopTimer()
	close(ch)
	<-exited
}

// BenchmarkLoopRoundTrip measures latency: post a func that replies, wait
// for the reply, repeat. Compare with BenchmarkChanPingPong.
func BenchmarkLoopRoundTrip(b *testing.B) {
	s := benchLoop(b)
	reply := make(chan struct{})
	fn := func() { reply <- struct{}{} }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Post(fn)
		<-reply
	}
}

// BenchmarkChanPingPong is the baseline for BenchmarkLoopRoundTrip: two
// goroutines ping-pong over unbuffered channels.
func BenchmarkChanPingPong(b *testing.B) {
	ping, pong := make(chan struct{}), make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for range ping {
			pong <- struct{}{}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ping <- struct{}{}
		<-pong
	}
	b.StopTimer()
	close(ping)
	<-exited
}
