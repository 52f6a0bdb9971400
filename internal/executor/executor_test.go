package executor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// blocking records the thread Run ran on and waits for cancellation.
type blocking struct {
	tid     chan int
	signals bool // calls lifecycle.Ready itself
	err     error
	panics  bool
}

func (b *blocking) Run(ctx context.Context) error {
	b.tid <- unix.Gettid()
	if b.panics {
		panic("run panicked")
	}
	if b.signals {
		lifecycle.Ready(ctx)
	}
	<-ctx.Done()
	return b.err
}

func TestThreadRunsEachServiceOnItsOwnThread(t *testing.T) {
	const n = 8
	tids := make(map[int]bool)
	runs := make([]executor.Run, n)
	for i := range runs {
		svc := &blocking{tid: make(chan int, 1)}
		runs[i] = executor.Thread{}.Launch(executor.Spec{Name: "t", Service: svc})
		<-runs[i].Ready()
		tid := <-svc.tid
		assert.Equal(t, tid, runs[i].TID())
		tids[tid] = true
	}
	assert.Len(t, tids, n, "every run has a thread of its own")
	for _, r := range runs {
		r.Stop()
		assert.NoError(t, r.Wait())
	}
}

func TestThreadReadiness(t *testing.T) {
	svc := &blocking{tid: make(chan int, 1), signals: true}
	r := executor.Thread{}.Launch(executor.Spec{Name: "t", Service: svc, WaitForReady: true})
	<-svc.tid
	<-r.Ready() // only Ready closes it: the service called lifecycle.Ready
	r.Stop()
	require.NoError(t, r.Wait())
}

func TestThreadPanicBecomesAnError(t *testing.T) {
	r := executor.Thread{}.Launch(executor.Spec{Name: "t", Service: &blocking{tid: make(chan int, 1), panics: true}})
	err := r.Wait()
	var pe *modes.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "run panicked", pe.Value)
	assert.Contains(t, string(pe.Stack), "executor_test.go")
}

func TestThreadReturnsRunError(t *testing.T) {
	boom := errors.New("boom")
	r := executor.Thread{}.Launch(executor.Spec{Name: "t", Service: &blocking{tid: make(chan int, 1), err: boom}})
	<-r.Ready()
	r.Stop()
	assert.ErrorIs(t, r.Wait(), boom)
}

// async records the threads its entry point and callbacks ran on.
type async struct {
	mu   sync.Mutex
	tids []int
	fail error
	done chan struct{}
}

func (a *async) record() {
	a.mu.Lock()
	a.tids = append(a.tids, unix.Gettid())
	a.mu.Unlock()
}

func (a *async) RunAsync(_ context.Context, loop modes.Loop) error {
	a.record()
	if a.fail != nil {
		return a.fail
	}
	loop.Post(func() { a.record(); close(a.done) })
	return nil
}

func TestThreadLoopRunsEverythingOnOnePrivateThread(t *testing.T) {
	svc := &async{done: make(chan struct{})}
	r := executor.ThreadLoop{}.Launch(executor.Spec{Name: "a", Service: svc})
	<-r.Ready()
	<-svc.done
	r.Stop()
	require.NoError(t, r.Wait())
	svc.mu.Lock()
	defer svc.mu.Unlock()
	require.Len(t, svc.tids, 2)
	assert.Equal(t, svc.tids[0], svc.tids[1])
	assert.Equal(t, svc.tids[0], r.TID())
}

func TestRunAsyncErrorEndsTheRun(t *testing.T) {
	boom := errors.New("boom")
	for name, ex := range map[string]func() (executor.Executor, func()){
		"thread loop": func() (executor.Executor, func()) { return executor.ThreadLoop{}, func() {} },
		"main loop": func() (executor.Executor, func()) {
			el := loop.New(loop.Config{Name: "main"})
			go el.Run()
			return executor.MainLoop{Loop: func() *loop.Engine { return el }}, func() { el.Stop(); <-el.Done() }
		},
	} {
		t.Run(name, func(t *testing.T) {
			e, cleanup := ex()
			defer cleanup()
			r := e.Launch(executor.Spec{Name: "a", Service: &async{fail: boom}})
			err := r.Wait()
			assert.ErrorIs(t, err, boom)
			assert.ErrorContains(t, err, "RunAsync: boom")
			select {
			case <-r.Ready():
				t.Fatal("a failed RunAsync is never ready")
			default:
			}
		})
	}
}

func TestThreadTakesAReservedThreadWhenOffered(t *testing.T) {
	// A locked goroutine stands in for a child's free main thread.
	reserved := make(chan func(), 1)
	lent := make(chan int, 1)
	release := make(chan struct{})
	defer close(release)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		lent <- unix.Gettid()
		(<-reserved)()
		<-release // hold the thread, so no other run can be given it
	}()
	tid := <-lent
	offer := func(run func()) bool { reserved <- run; return true }

	svc := &blocking{tid: make(chan int, 1)}
	r := executor.Thread{Reserved: offer}.Launch(executor.Spec{Name: "t", Service: svc})
	<-r.Ready()
	assert.Equal(t, tid, <-svc.tid, "Run runs on the reserved thread")
	r.Stop()
	require.NoError(t, r.Wait())

	declined := &blocking{tid: make(chan int, 1)}
	r = executor.Thread{Reserved: func(func()) bool { return false }}.Launch(executor.Spec{Name: "t", Service: declined})
	<-r.Ready()
	assert.NotEqual(t, tid, <-declined.tid, "without a reserved thread, a fresh one")
	r.Stop()
	require.NoError(t, r.Wait())
}

func TestStartsOnLoop(t *testing.T) {
	thread := executor.Thread{}.Launch(executor.Spec{Name: "t", Service: &blocking{tid: make(chan int, 1)}})
	loopRun := executor.ThreadLoop{}.Launch(executor.Spec{Name: "l", Service: &async{}})
	assert.False(t, executor.StartsOnLoop(thread))
	assert.True(t, executor.StartsOnLoop(loopRun))
	thread.Stop()
	loopRun.Stop()
	_, _ = thread.Wait(), loopRun.Wait()
}
