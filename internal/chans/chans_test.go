package chans

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosed(t *testing.T) {
	open := make(chan struct{})
	assert.False(t, Closed(open))
	assert.False(t, Closed(nil), "a nil channel never closes")
	close(open)
	assert.True(t, Closed(open))
	assert.True(t, Closed(Done))
}

func TestSpinner(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var s Spinner
	calls := 0
	assert.True(t, s.Spin(func() bool { calls++; return calls == 5 }), "it looks again")
	assert.Equal(t, 5, calls)

	calls = 0
	assert.False(t, s.Spin(func() bool { calls++; return false }), "it gives up")
	assert.Greater(t, calls, 16)

	// After a spin that found nothing, it looks once per wait, and spins
	// again on every retryEvery'th.
	spins := 0
	for range 2 * retryEvery {
		calls = 0
		s.Spin(func() bool { calls++; return false })
		if calls > 1 {
			spins++
		}
	}
	assert.Equal(t, 2, spins)
	calls = 0
	for i := 0; i < retryEvery && calls < 2; i++ {
		calls = 0
		s.Spin(func() bool { calls++; return calls == 2 })
	}
	assert.Equal(t, 2, calls, "a retry that finds its end")
	calls = 0
	assert.True(t, s.Spin(func() bool { calls++; return calls == 3 }), "and it spins every time again")

	runtime.GOMAXPROCS(1)
	var one Spinner
	calls = 0
	assert.False(t, one.Spin(func() bool { calls++; return calls == 5 }), "with one P it looks once")
	assert.Equal(t, 1, calls)
}
