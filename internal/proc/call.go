package proc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/chans"
)

// Calls are requests to a child's service, each answered by a response,
// over connections the parent dials for them with a Calls frame. A
// connection carries one call at a time: the caller writes the request and
// reads the response on its own goroutine, and the child answers on the
// connection's goroutine, so a call costs one round trip and no hand-off
// between goroutines. The parent keeps idle connections for later calls;
// concurrent calls take a connection each and run in parallel.
//
// A request is a 4-byte big-endian length and the bytes. A response is a
// 4-byte length of what follows, a status byte (statusOK: the bytes are the
// response; statusError: they are the handler's error) and the bytes.

// MaxCall caps a request or response, so that garbage on a connection
// cannot make either side allocate without bound. Larger payloads belong
// on a connection of their own (Run.Dial).
const MaxCall = 16 << 20

const (
	statusOK    byte = 0
	statusError byte = 1
	// maxIdleCalls is how many idle call connections the parent keeps for
	// a child; more are closed when their call ends.
	maxIdleCalls = 8
	// copyLimit is the largest payload copied into a frame buffer; a larger
	// one is written after its header.
	copyLimit = 64 << 10
)

// HandlerError is an error the child's handler returned for a call.
type HandlerError struct{ Message string }

func (e *HandlerError) Error() string { return e.Message }

// CallHandler answers one call in the child.
type CallHandler func(ctx context.Context, request []byte) ([]byte, error)

// ServeCalls answers the calls that come on conn until the parent closes
// it, then closes it. It returns nil at a clean end, and otherwise why the
// connection was dropped. A panic in handle is the call's error.
func ServeCalls(ctx context.Context, conn net.Conn, handle CallHandler) error {
	defer conn.Close()
	r := bufio.NewReader(conn)
	head := make([]byte, 4, 5)
	var out []byte
	for {
		if _, err := io.ReadFull(r, head[:4]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%w: truncated call length", ErrProtocol)
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n > MaxCall {
			return fmt.Errorf("%w: call of %d bytes: at most %d", ErrProtocol, n, MaxCall)
		}
		req := make([]byte, n)
		if _, err := io.ReadFull(r, req); err != nil {
			return fmt.Errorf("%w: truncated call: %d bytes announced", ErrProtocol, n)
		}
		resp, err := answer(ctx, handle, req)
		status := statusOK
		if err == nil && len(resp) > MaxCall {
			err = fmt.Errorf("response of %d bytes: at most %d", len(resp), MaxCall)
		}
		if err != nil {
			status, resp = statusError, []byte(err.Error())
			if len(resp) > MaxCall {
				resp = resp[:MaxCall]
			}
		}
		head := binary.BigEndian.AppendUint32(head[:0], uint32(1+len(resp)))
		if out, err = writeFrame(conn, out, append(head, status), resp); err != nil {
			return err
		}
	}
}

// answer runs handle, turning a panic into an error.
func answer(ctx context.Context, handle CallHandler, req []byte) (resp []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "hostfx: call handler panicked: %v\n%s", p, debug.Stack())
			resp, err = nil, fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return handle(ctx, req)
}

// writeFrame writes head and payload as one frame. It copies them into
// buf, which it returns for the next frame, unless payload is large.
func writeFrame(w io.Writer, buf, head, payload []byte) ([]byte, error) {
	if len(payload) > copyLimit {
		if _, err := w.Write(head); err != nil {
			return buf, err
		}
		_, err := w.Write(payload)
		return buf, err
	}
	buf = append(append(buf[:0], head...), payload...)
	_, err := w.Write(buf)
	return buf, err
}

// callConn is the parent's end of a call connection.
type callConn struct {
	conn     net.Conn
	r        *bufio.Reader
	buf      []byte
	deadline bool // conn has a deadline set
	poisoned bool // a cancelled context's wake-up may still hit conn
}

func newCallConn(conn net.Conn) *callConn { return &callConn{conn: conn, r: bufio.NewReader(conn)} }

// calls is a Run's pool of idle call connections.
type calls struct {
	mu     sync.Mutex
	idle   []*callConn
	closed bool // the child has ended: no connection is kept any more
}

// take returns an idle connection, or nil.
func (p *calls) take() *callConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return c
	}
	return nil
}

// put keeps c for a later call, or closes it.
func (p *calls) put(c *callConn) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < maxIdleCalls {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.conn.Close()
	}
}

// close closes the idle connections and every one put back from now on.
func (p *calls) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// Call sends request to the child's service and returns its response. An
// error the service's handler returned is a *HandlerError. ctx bounds the
// whole call; a call it cuts short leaves the handler running in the child.
func (r *Run) Call(ctx context.Context, request []byte) ([]byte, error) {
	if len(request) > MaxCall {
		return nil, fmt.Errorf("service %q: call: request of %d bytes: at most %d", r.spec.Name, len(request), MaxCall)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("service %q: call: %w", r.spec.Name, err)
	}
	c := r.calls.take()
	if c == nil {
		conn, err := r.dial(KindCalls)
		if err != nil {
			return nil, err
		}
		c = newCallConn(conn)
	}
	resp, err := c.call(ctx, request)
	var handlerErr *HandlerError
	if err == nil || errors.As(err, &handlerErr) {
		if c.poisoned {
			c.conn.Close()
		} else {
			r.calls.put(c)
		}
		return resp, err
	}
	c.conn.Close()
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded): // ctx's deadline, a moment before ctx saw it
		err = context.DeadlineExceeded
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, unix.EPIPE),
		errors.Is(err, unix.ECONNRESET), chans.Closed(r.done):
		err = fmt.Errorf("the child ended before it answered (%v): %w", err, ErrNotRunning)
	}
	return nil, fmt.Errorf("service %q: call: %w", r.spec.Name, err)
}

// past is a deadline that has passed: it wakes a blocked read or write.
var past = time.Unix(1, 0)

// call makes one call on c. On an error other than a *HandlerError, c is in
// an unknown state and must be closed.
func (c *callConn) call(ctx context.Context, request []byte) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(d)
		c.deadline = true
	} else if c.deadline {
		_ = c.conn.SetDeadline(time.Time{})
		c.deadline = false
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(past) })
		defer func() { c.poisoned = !stop() }()
	}
	var head [5]byte
	var err error
	binary.BigEndian.PutUint32(head[:], uint32(len(request)))
	if c.buf, err = writeFrame(c.conn, c.buf, head[:4], request); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n-1 > MaxCall {
		return nil, fmt.Errorf("%w: response of %d bytes: want 1 to %d", ErrProtocol, n, MaxCall+1)
	}
	resp := make([]byte, n-1)
	if _, err := io.ReadFull(c.r, resp); err != nil {
		return nil, err
	}
	switch head[4] {
	case statusOK:
		return resp, nil
	case statusError:
		return nil, &HandlerError{Message: string(resp)}
	}
	return nil, fmt.Errorf("%w: response status %d: want %d or %d", ErrProtocol, head[4], statusOK, statusError)
}
