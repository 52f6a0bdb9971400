package executor

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

type parker struct{ release chan struct{} }

func (p *parker) parkedAsWork(started chan<- struct{}) {
	close(started)
	<-p.release
}

func TestGoroutineStacksFindsGoroutinesByFunction(t *testing.T) {
	p := &parker{release: make(chan struct{})}
	id, release := make(chan uint64), make(chan struct{})
	var done sync.WaitGroup
	done.Go(func() { parkedForTheStackTest(id, release) })
	gid := <-id
	started := make(chan struct{})
	work := p.parkedAsWork // a method value, named with -fm, as Loop.Working names Go work
	done.Go(func() { work(started) })
	<-started

	stacks := string(goroutineStacks(gid, []string{funcName(work), "no.such(*Func).Anywhere"}))
	assert.Contains(t, stacks, "parkedForTheStackTest", "the goroutine asked for by ID")
	assert.Contains(t, stacks, "(*parker).parkedAsWork", "and the one that runs the function")
	assert.Equal(t, 2, strings.Count(stacks, "\ngoroutine ")+1, "two stacks, no more: %s", stacks)
	assert.Nil(t, goroutineStacks(0, []string{"no.such(*Func).Anywhere"}))

	close(release)
	close(p.release)
	done.Wait()
}

// funcName names fn as modes.Loop.Working does.
func funcName(fn any) string { return runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name() }
