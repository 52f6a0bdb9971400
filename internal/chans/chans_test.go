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

func TestSpin(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	calls := 0
	assert.True(t, Spin(func() bool { calls++; return calls == 5 }), "it looks again")
	assert.Equal(t, 5, calls)

	calls = 0
	assert.False(t, Spin(func() bool { calls++; return false }), "it gives up")
	assert.Greater(t, calls, 16)

	runtime.GOMAXPROCS(1)
	calls = 0
	assert.False(t, Spin(func() bool { calls++; return calls == 5 }), "with one P it looks once")
	assert.Equal(t, 1, calls)
}
