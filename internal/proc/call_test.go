package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/executor"
)

// callPair is a parent's call connection whose other end is returned raw.
func callPair(t *testing.T) (*callConn, net.Conn) {
	parent, child := controlPair(t)
	return newCallConn(parent), child
}

// call makes one call on c, for tests that do not look at reusable.
func call(ctx context.Context, c *callConn, req []byte) ([]byte, error) {
	resp, _, err := c.call(ctx, req)
	return resp, err
}

// serve runs ServeCalls on conn and returns what it returns.
func serve(conn net.Conn, h CallHandler) <-chan error {
	done := make(chan error, 1)
	go func() { done <- ServeCalls(context.Background(), conn, h) }()
	return done
}

func TestCallsAreAnswered(t *testing.T) {
	c, child := callPair(t)
	done := serve(child, func(_ context.Context, req []byte) ([]byte, error) {
		switch string(req) {
		case "fail":
			return nil, errors.New("failed as asked")
		case "panic":
			panic("as asked")
		case "big":
			return bytes.Repeat([]byte{7}, copyLimit+1), nil // written after its header
		}
		return append([]byte("re: "), req...), nil
	})
	for _, req := range []string{"one", "", "two"} {
		resp, err := call(context.Background(), c, []byte(req))
		require.NoError(t, err)
		assert.Equal(t, "re: "+req, string(resp))
	}
	_, reusable, err := c.call(context.Background(), []byte("fail"))
	assert.Equal(t, &HandlerError{Message: "failed as asked"}, err)
	assert.True(t, reusable, "an answered call leaves the connection usable")
	_, err = call(context.Background(), c, []byte("panic"))
	assert.Equal(t, &HandlerError{Message: "handler panicked: as asked"}, err)
	resp, err := call(context.Background(), c, []byte("big"))
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte{7}, copyLimit+1), resp)
	large := bytes.Repeat([]byte{9}, copyLimit+1)
	resp, reusable, err = c.call(context.Background(), large)
	require.NoError(t, err)
	assert.Equal(t, append([]byte("re: "), large...), resp)
	assert.True(t, reusable)

	require.NoError(t, c.conn.Close())
	assert.NoError(t, <-done, "a close between calls is a clean end")
}

// A service that is not there to take a call, such as one whose loop has
// closed while its child goes on, leaves the call unanswered, as a child
// that ended does: Run.Call reports that as not running, for the caller to
// try again.
func TestACallTheServiceCannotTakeIsLeftUnanswered(t *testing.T) {
	c, child := callPair(t)
	done := serve(child, func(context.Context, []byte) ([]byte, error) {
		return nil, fmt.Errorf("its loop is closed: %w", ErrNotRunning)
	})
	_, err := call(context.Background(), c, []byte("one"))
	require.ErrorIs(t, err, io.EOF)
	var he *HandlerError
	assert.False(t, errors.As(err, &he), "not an answer of the service's")
	assert.NoError(t, <-done)
}

func TestGarbageCallsEndTheConnection(t *testing.T) {
	echo := func(_ context.Context, req []byte) ([]byte, error) { return req, nil }
	for _, tc := range []struct{ name, garbage, want string }{
		{"length", "\xff\xff\xff\xff", fmt.Sprintf("call of 4294967295 bytes: at most %d", MaxCallSize)},
		{"truncated length", "\x00\x00", "truncated call length"},
		{"truncated call", "\x00\x00\x00\x09abc", "truncated call: 3 of 9 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, child := controlPair(t)
			done := serve(child, echo)
			_, err := parent.Write([]byte(tc.garbage))
			require.NoError(t, err)
			require.NoError(t, parent.CloseWrite())
			err = <-done
			assert.ErrorIs(t, err, ErrProtocol)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestGarbageResponsesAreProtocolErrors(t *testing.T) {
	for _, tc := range []struct{ name, garbage, want string }{
		{"status", "\x00\x00\x00\x02\x07x", "response status 7: want 0 or 1"},
		{"empty", "\x00\x00\x00\x00\x00", fmt.Sprintf("response of 0 bytes: want 1 to %d", MaxCallSize+1)},
		{"length", "\xff\xff\xff\xff\x00", "response of 4294967295 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, child := callPair(t)
			go func() {
				_, _ = io.ReadFull(child, make([]byte, 5)) // the request: a length and "x"
				_, _ = child.Write([]byte(tc.garbage))
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // fail, not hang
			defer cancel()
			_, err := call(ctx, c, []byte("x"))
			assert.ErrorIs(t, err, ErrProtocol)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestAContextEndsACallThatIsNotAnswered(t *testing.T) {
	c, _ := callPair(t) // nobody answers
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, reusable, err := c.call(ctx, []byte("x"))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.False(t, reusable, "the cancellation's wake-up hit the connection")

	c, child := callPair(t)
	done := serve(child, func(_ context.Context, req []byte) ([]byte, error) { return req, nil })
	ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	resp, reusable, err := c.call(ctx, []byte("y"))
	require.NoError(t, err)
	assert.Equal(t, "y", string(resp))
	assert.True(t, reusable, "a context that did not end leaves the connection usable")
	assert.True(t, c.deadline)
	resp, err = call(context.Background(), c, []byte("z")) // and clears its deadline
	require.NoError(t, err)
	assert.Equal(t, "z", string(resp))
	assert.False(t, c.deadline)
	require.NoError(t, c.conn.Close())
	require.NoError(t, <-done)
}

// dialPair dials a fresh call connection for a pool, recording it.
func dialPair(t *testing.T, dialed *[]*callConn) func() (net.Conn, error) {
	return func() (net.Conn, error) {
		c, _ := callPair(t)
		*dialed = append(*dialed, c)
		return c.conn, nil
	}
}

func TestTheCallPoolKeepsAFewAndClosesTheRest(t *testing.T) {
	p := newCallPool()
	var dialed, got []*callConn
	for range maxIdleCalls + 1 { // as many calls at once: each dials
		c, err := p.get(t.Context(), dialPair(t, &dialed))
		require.NoError(t, err)
		got = append(got, c)
	}
	require.Len(t, dialed, maxIdleCalls+1)
	for _, c := range got {
		p.put(c, true)
	}
	_, err := got[maxIdleCalls].conn.Write([]byte{0})
	assert.ErrorIs(t, err, net.ErrClosed, "one more than the pool keeps is closed")
	c, err := p.get(t.Context(), dialPair(t, &dialed))
	require.NoError(t, err)
	assert.Same(t, got[maxIdleCalls-1], c, "the most recent first, and no dial")
	assert.Len(t, dialed, maxIdleCalls+1)
	p.put(c, false)
	_, err = c.conn.Write([]byte{0})
	assert.ErrorIs(t, err, net.ErrClosed, "a connection not to keep is closed")

	inUse, err := p.get(t.Context(), dialPair(t, &dialed))
	require.NoError(t, err)
	p.close()
	for _, c := range append(got[:maxIdleCalls-1], inUse) {
		_, err := c.conn.Write([]byte{0})
		assert.ErrorIs(t, err, net.ErrClosed, "idle and in use alike")
	}
	p.put(inUse, true)
	_, err = p.get(t.Context(), dialPair(t, &dialed))
	assert.ErrorIs(t, err, ErrNotRunning)
	assert.Empty(t, p.slots, "every turn was given back")
}

func TestADialThatOutlivesTheChildIsClosed(t *testing.T) {
	p := newCallPool()
	var dialed []*callConn
	_, err := p.get(t.Context(), func() (net.Conn, error) {
		conn, err := dialPair(t, &dialed)()
		p.close() // the child ends while the dial is under way
		return conn, err
	})
	assert.ErrorIs(t, err, ErrNotRunning)
	_, err = dialed[0].conn.Write([]byte{0})
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.Empty(t, p.slots)

	p = newCallPool()
	_, err = p.get(t.Context(), func() (net.Conn, error) { return nil, errDeaf })
	assert.ErrorIs(t, err, errDeaf)
	assert.Empty(t, p.slots, "a failed dial gives its turn back")
}

func TestCallsWaitForATurn(t *testing.T) {
	p := newCallPool()
	var dialed, got []*callConn
	for range MaxConcurrentCalls {
		c, err := p.get(t.Context(), dialPair(t, &dialed))
		require.NoError(t, err)
		got = append(got, c)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := p.get(ctx, dialPair(t, &dialed))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	p.put(got[0], true)
	c, err := p.get(t.Context(), dialPair(t, &dialed))
	require.NoError(t, err, "a call that ended made room")
	assert.Same(t, got[0], c)
}

func TestAnErrorWhoseTextPanicsFailsOnlyTheCall(t *testing.T) {
	c, child := callPair(t)
	done := serve(child, func(context.Context, []byte) ([]byte, error) {
		var typedNil *HandlerError
		return nil, typedNil // its Error method dereferences nil
	})
	_, err := call(context.Background(), c, []byte("x"))
	var he *HandlerError
	require.ErrorAs(t, err, &he)
	assert.Contains(t, he.Message, "handler panicked: runtime error: invalid memory address or nil pointer dereference")
	require.NoError(t, c.conn.Close())
	assert.NoError(t, <-done)
}

func TestACallTheParentGaveUpOnEndsTheConnectionCleanly(t *testing.T) {
	c, child := callPair(t)
	entered, release := make(chan struct{}), make(chan struct{})
	done := serve(child, func(context.Context, []byte) ([]byte, error) {
		close(entered)
		<-release
		return []byte("too late"), nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	_, err := call(ctx, c, []byte("x"))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, c.conn.Close()) // as Call does with a connection cut short
	close(release)
	assert.NoError(t, <-done, "the answer had nobody to go to: no error to log")
}

// stalledRun is a Run whose child never reads its control channel, which
// is full.
func stalledRun(t *testing.T, heartbeat time.Duration) *Run {
	parent, _ := controlPair(t)
	require.NoError(t, parent.SetWriteDeadline(time.Now().Add(100*time.Millisecond)))
	chunk := make([]byte, 64<<10)
	for {
		if _, err := parent.Write(chunk); err != nil {
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			break
		}
	}
	r := &Run{exec: Executor{Heartbeat: heartbeat}, spec: executor.Spec{Name: "stalled"}, ready: make(chan struct{}),
		writes: make(chan struct{}, 1), calls: newCallPool(), ctl: parent}
	close(r.ready)
	return r
}

func TestACallToAStalledChildGivesUpAfterAHeartbeat(t *testing.T) {
	r := stalledRun(t, 20*time.Millisecond)
	_, err := r.Call(t.Context(), []byte("x"))
	assert.EqualError(t, err, `service "stalled": the child is not reading its control channel (hung, or stopped): not running`)
	assert.ErrorIs(t, err, ErrNotRunning)
}

func TestWhileTheChildIsDeafDialsFailAtOnce(t *testing.T) {
	r := stalledRun(t, 20*time.Millisecond)
	_, err := r.Dial(t.Context())
	require.ErrorIs(t, err, errDeaf)
	// Until it answers a ping, the others fail at once instead of each
	// holding the channel for a heartbeat period, this one of an hour.
	r.exec.Heartbeat = time.Hour
	errs := make(chan error, MaxConcurrentCalls)
	for range MaxConcurrentCalls {
		go func() {
			_, err := r.Call(t.Context(), []byte("x"))
			errs <- err
		}()
	}
	for range MaxConcurrentCalls {
		assert.ErrorIs(t, <-errs, errDeaf)
	}
	_, err = r.Dial(t.Context())
	assert.ErrorIs(t, err, errDeaf)
}

func TestTheCallersContextEndsItsWaitForTheChannel(t *testing.T) {
	r := stalledRun(t, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)
	_, err := r.Dial(ctx)
	assert.ErrorIs(t, err, context.Canceled, "while the write waits")
	assert.False(t, r.deaf.Load(), "the caller gave up, not the child")

	r.writes <- struct{}{} // another writer holds the channel
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err = r.Call(ctx, []byte("x"))
	assert.ErrorIs(t, err, context.DeadlineExceeded, "while it waits for the channel")
	<-r.writes
	assert.Empty(t, r.calls.slots, "the call's turn was given back")
}
