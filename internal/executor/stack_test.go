package executor

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parkedForTheStackTest waits on release, so its stack can be read.
func parkedForTheStackTest(id chan<- uint64, release <-chan struct{}) {
	id <- goid()
	<-release
}

func TestGoroutineStackFindsOneGoroutine(t *testing.T) {
	id, release := make(chan uint64), make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); parkedForTheStackTest(id, release) }()
	gid := <-id
	require.NotZero(t, gid)
	assert.NotEqual(t, goid(), gid, "each goroutine has its own ID")

	stack := string(goroutineStack(gid))
	assert.True(t, strings.HasPrefix(stack, "goroutine "+strconv.FormatUint(gid, 10)+" ["), stack)
	assert.Contains(t, stack, "parkedForTheStackTest")
	assert.NotContains(t, stack, "TestGoroutineStackFindsOneGoroutine(", "only that goroutine's stack")
	assert.NotContains(t, stack, "\n\n")

	self := string(goroutineStack(goid()))
	assert.Contains(t, self, "TestGoroutineStackFindsOneGoroutine", "the first goroutine of the dump is found too")

	close(release)
	<-done
	assert.Nil(t, goroutineStack(0))
	assert.Nil(t, goroutineStack(gid+1<<40), "no such goroutine")
}
