package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// answering answers calls of the form "op:arg" in its child.
type answering struct {
	mu      sync.Mutex
	meeting int           // calls waiting in "meet"
	met     chan struct{} // closed when enough have come
}

func newAnswering() *answering { return &answering{met: make(chan struct{})} }

func (*answering) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (a *answering) HandleCall(ctx context.Context, request []byte) ([]byte, error) {
	op, arg, _ := strings.Cut(string(request), ":")
	switch op {
	case "echo":
		return []byte(arg + " from " + strconv.Itoa(os.Getpid())), nil
	case "fail":
		return nil, errors.New("no " + arg + " here")
	case "panic":
		panic(arg)
	case "hold": // until the service is stopped
		<-ctx.Done()
		return []byte("released"), nil
	case "meet": // until arg calls are in here at once
		return a.meet(arg)
	case "exit":
		os.Exit(3)
	case "big":
		return make([]byte, app.MaxCallSize+1), nil
	}
	return nil, fmt.Errorf("unknown op %q", op)
}

func (a *answering) meet(arg string) ([]byte, error) {
	want, err := strconv.Atoi(arg)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.meeting++; a.meeting == want {
		close(a.met)
	}
	a.mu.Unlock()
	select {
	case <-a.met:
		return []byte("met"), nil
	case <-time.After(time.Minute):
		return nil, errors.New("the calls were not answered at the same time")
	}
}

func TestCallReachesTheServiceInItsChild(t *testing.T) {
	var sup *app.Supervisor
	a, rec, _ := processApp(t,
		app.Service("answer", newAnswering, modes.SeparateProcess, lifecycle.Restart(lifecycle.Immediate())),
		app.Service("closed", func() closed { return closed{} }, modes.SeparateProcess),
		app.Service("local", leaf[[2]byte], modes.SeparateThread),
		fx.Populate(&sup),
	)
	ctx := t.Context()
	if _, child := app.InChild(); !child {
		_, err := sup.Call(ctx, "answer", []byte("echo:early"))
		require.ErrorContains(t, err, `service "answer" is idle, not running`, "before the start")
	}
	a.RequireStart() // in a child, this runs the child's service until the parent stops it

	pid := strconv.Itoa(servicePID(t, sup, "answer"))
	for i := range 3 {
		resp, err := sup.Call(ctx, "answer", []byte("echo:call "+strconv.Itoa(i)))
		require.NoError(t, err)
		assert.Equal(t, "call "+strconv.Itoa(i)+" from "+pid, string(resp), "answered by the child")
	}

	t.Run("errors", func(t *testing.T) {
		_, err := sup.Call(ctx, "answer", []byte("fail:luck"))
		var callErr *app.CallError
		require.ErrorAs(t, err, &callErr)
		assert.Equal(t, app.CallError{Service: "answer", Message: "no luck here"}, *callErr)
		assert.EqualError(t, err, `service "answer": no luck here`)

		_, err = sup.Call(ctx, "answer", []byte("panic:boom"))
		require.ErrorAs(t, err, &callErr)
		assert.Equal(t, "handler panicked: boom", callErr.Message)

		_, err = sup.Call(ctx, "answer", []byte("big:"))
		require.ErrorAs(t, err, &callErr)
		assert.Equal(t, fmt.Sprintf("response of %d bytes: at most %d", app.MaxCallSize+1, app.MaxCallSize), callErr.Message)

		_, err = sup.Call(ctx, "answer", make([]byte, app.MaxCallSize+1))
		assert.EqualError(t, err, fmt.Sprintf(`app.Call: service "answer": request of %d bytes: at most %d`, app.MaxCallSize+1, app.MaxCallSize))

		resp, err := sup.Call(ctx, "answer", []byte("echo:after them"))
		require.NoError(t, err)
		assert.Equal(t, "after them from "+pid, string(resp), "neither a panic nor an error ended the child")
	})

	t.Run("concurrent calls run at once", func(t *testing.T) {
		const n = 6
		errs := make(chan error, n)
		for range n {
			go func() {
				resp, err := sup.Call(ctx, "answer", []byte("meet:"+strconv.Itoa(n)))
				if err == nil && string(resp) != "met" {
					err = fmt.Errorf("answer %q", resp)
				}
				errs <- err
			}()
		}
		for range n {
			require.NoError(t, <-errs)
		}
	})

	t.Run("a context ends the call", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		_, err := sup.Call(short, "answer", []byte("hold:"))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, `app.Call: service "answer": `)

		cancelled, cancel := context.WithCancel(ctx)
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err = sup.Call(cancelled, "answer", []byte("hold:"))
		require.ErrorIs(t, err, context.Canceled)

		resp, err := sup.Call(ctx, "answer", []byte("echo:still there"))
		require.NoError(t, err)
		assert.Equal(t, "still there from "+pid, string(resp))
	})

	t.Run("not callable", func(t *testing.T) {
		_, err := sup.Call(ctx, "closed", nil)
		assert.ErrorIs(t, err, app.ErrNotCallable)
		assert.ErrorContains(t, err, `service "closed": app_test.closed has no method HandleCall`)
		_, err = sup.Call(ctx, "local", nil)
		assert.ErrorIs(t, err, app.ErrNotCallable)
		assert.ErrorContains(t, err, `service "local": *app_test.node[[2]uint8] has no method HandleCall`)
		_, err = sup.Call(ctx, "nobody", nil)
		assert.ErrorIs(t, err, app.ErrNotCallable)
	})

	t.Run("a call reaches the child of the moment", func(t *testing.T) {
		_, err := sup.Call(ctx, "answer", []byte("exit:"))
		require.ErrorIs(t, err, app.ErrNotRunning)
		assert.ErrorContains(t, err, `app.Call: service "answer": the child ended`)
		restarted := waitFor[*lifecycle.Restarting](t, rec, "answer")
		require.Equal(t, 1, restarted.Attempt)
		var resp []byte
		require.Eventually(t, func() bool {
			resp, err = sup.Call(ctx, "answer", []byte("echo:again"))
			return err == nil
		}, 30*time.Second, 5*time.Millisecond)
		newPID := strconv.Itoa(servicePID(t, sup, "answer"))
		assert.NotEqual(t, pid, newPID)
		assert.Equal(t, "again from "+newPID, string(resp))
	})

	a.RequireStop()
	_, err := sup.Call(ctx, "answer", []byte("echo:late"))
	assert.ErrorContains(t, err, `service "answer" is stopped, not running`)
	assert.ErrorIs(t, err, app.ErrNotRunning)
	assert.False(t, errors.Is(err, app.ErrNotCallable), "a stopped service may be called once it runs again")
}
