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
	// MaxConcurrentCalls is how many calls to one child run at once; more
	// wait for one of them to end.
	MaxConcurrentCalls = 64
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
// it, then closes it. It returns nil at a clean end, the parent's closing
// included, even in the middle of a call it gave up on, and otherwise why
// the connection was dropped. A panic in handle is the call's error.
func ServeCalls(ctx context.Context, conn net.Conn, handle CallHandler) error {
	defer conn.Close()
	r := bufio.NewReader(conn)
	head := make([]byte, 4, 5)
	var out []byte
	for {
		if _, err := io.ReadFull(r, head[:4]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: truncated call length", ErrProtocol)
			}
			return cleanEnd(err)
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n > MaxCall {
			return fmt.Errorf("%w: call of %d bytes: at most %d", ErrProtocol, n, MaxCall)
		}
		req := make([]byte, n)
		if got, err := io.ReadFull(r, req); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: truncated call: %d of %d bytes", ErrProtocol, got, n)
			}
			return cleanEnd(err)
		}
		resp, failure, failed := answer(ctx, handle, req)
		status := statusOK
		if !failed && len(resp) > MaxCall {
			failure, failed = fmt.Sprintf("response of %d bytes: at most %d", len(resp), MaxCall), true
		}
		if failed {
			status, resp = statusError, []byte(failure)
			if len(resp) > MaxCall {
				resp = resp[:MaxCall]
			}
		}
		head := binary.BigEndian.AppendUint32(head[:0], uint32(1+len(resp)))
		var err error
		if out, err = writeFrame(conn, out, append(head, status), resp); err != nil {
			return cleanEnd(err)
		}
	}
}

// cleanEnd is nil for an error that says the parent closed its end: it
// gave up on a call, or needs the connection no more.
func cleanEnd(err error) error {
	if ended(err) {
		return nil
	}
	return err
}

// answer runs handle and gives its response, or the text of its error or
// panic. The text is made here, under the recover: an Error method can
// panic too.
func answer(ctx context.Context, handle CallHandler, req []byte) (resp []byte, failure string, failed bool) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "hostfx: call handler panicked: %v\n%s", p, debug.Stack())
			resp, failure, failed = nil, fmt.Sprintf("handler panicked: %v", p), true
		}
	}()
	resp, err := handle(ctx, req)
	if err != nil {
		return nil, err.Error(), true
	}
	return resp, "", false
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

// calls holds a Run's call connections: at most MaxConcurrentCalls in use,
// and a few idle ones.
type calls struct {
	slots  chan struct{} // a token per call under way
	mu     sync.Mutex
	idle   []*callConn
	busy   map[*callConn]struct{}
	closed bool // the child has ended: every connection is closed
}

func newCalls() *calls {
	return &calls{slots: make(chan struct{}, MaxConcurrentCalls), busy: make(map[*callConn]struct{})}
}

// take waits for a slot and returns an idle connection, or nil with the
// slot held: then the caller dials one and adds it.
func (p *calls) take(ctx context.Context) (*callConn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.slots
		return nil, ErrNotRunning
	}
	n := len(p.idle)
	if n == 0 {
		return nil, nil
	}
	c := p.idle[n-1]
	p.idle = p.idle[:n-1]
	p.busy[c] = struct{}{}
	return c, nil
}

// add makes c, freshly dialed on a slot take left held, a connection in
// use; it reports false, having closed c and let the slot go, if the
// child has ended meanwhile.
func (p *calls) add(c *callConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.conn.Close()
		<-p.slots
		return false
	}
	p.busy[c] = struct{}{}
	return true
}

// done ends the call on c: c is kept for a later call if keep allows and
// there is room, and closed otherwise.
func (p *calls) done(c *callConn, keep bool) {
	p.mu.Lock()
	delete(p.busy, c)
	if keep && !p.closed && len(p.idle) < maxIdleCalls {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	<-p.slots
	if c != nil {
		c.conn.Close()
	}
}

// giveBack lets go of the slot of a take that returned no connection and
// dialed none.
func (p *calls) giveBack() { <-p.slots }

// isClosed reports whether the child has ended.
func (p *calls) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes every connection, idle or in use, and every one added or
// given back from now on: the child has ended.
func (p *calls) close() {
	p.mu.Lock()
	conns := p.idle
	for c := range p.busy {
		conns = append(conns, c)
	}
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range conns {
		c.conn.Close()
	}
}

// Call sends request to the child's service and returns its response. An
// error the service's handler returned is a *HandlerError. ctx bounds the
// whole call; a call it cuts short leaves the handler running in the child.
func (r *Run) Call(ctx context.Context, request []byte) ([]byte, error) {
	if len(request) > MaxCall {
		return nil, fmt.Errorf("service %q: request of %d bytes: at most %d", r.spec.Name, len(request), MaxCall)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("service %q: %w", r.spec.Name, err)
	}
	c, err := r.calls.take(ctx)
	if err == nil && c == nil {
		var conn net.Conn
		if conn, err = r.dial(ctx, KindCalls); err != nil {
			r.calls.giveBack()
		} else if c = newCallConn(conn); !r.calls.add(c) {
			err = ErrNotRunning
		}
	}
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", r.spec.Name, err)
	}
	resp, err := c.call(ctx, request)
	var handlerErr *HandlerError
	answered := err == nil || errors.As(err, &handlerErr)
	r.calls.done(c, answered && !c.poisoned)
	switch {
	case answered:
		return resp, err
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded): // ctx's deadline, a moment before ctx saw it
		err = context.DeadlineExceeded
	case ended(err) || r.calls.isClosed():
		err = fmt.Errorf("the child ended before it answered (%v): %w", err, ErrNotRunning)
	}
	return nil, fmt.Errorf("service %q: %w", r.spec.Name, err)
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
