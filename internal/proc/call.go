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

// Limits of calls. MaxCallSize caps a request or response, so that garbage
// on a connection cannot make either side allocate without bound; larger
// payloads belong on a connection of their own (Run.Dial).
// MaxConcurrentCalls is how many calls to one child run at once; more wait
// for one of them to end.
const (
	MaxCallSize        = 16 << 20
	MaxConcurrentCalls = 64
)

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
// it, then closes it. It returns nil when the parent closes between calls
// or while a call is answered (it gave up on it), and otherwise why the
// connection was dropped: a parent that gives up while writing a request
// leaves a truncated one, which is reported. A panic in handle is the
// call's error. A handler error that wraps ErrNotRunning means the service
// was not there to take the call: the connection is dropped unanswered, so
// the parent reports ErrNotRunning, as for a child that ended.
func ServeCalls(ctx context.Context, conn net.Conn, handle CallHandler) error {
	// The connection is done with: an error closing it changes nothing.
	defer func() { _ = conn.Close() }()
	r := bufio.NewReader(conn)
	var head [5]byte // a request's length; a response's length and status
	var out []byte
	for {
		if _, err := io.ReadFull(r, head[:4]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: truncated call length", ErrProtocol)
			}
			return cleanEnd(err)
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n > MaxCallSize {
			return fmt.Errorf("%w: call of %d bytes: at most %d", ErrProtocol, n, MaxCallSize)
		}
		req := make([]byte, n)
		if got, err := io.ReadFull(r, req); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: truncated call: %d of %d bytes", ErrProtocol, got, n)
			}
			return cleanEnd(err)
		}
		notTaken := false
		resp, failure, failed := Answer(ctx, func(ctx context.Context, req []byte) ([]byte, error) {
			resp, err := handle(ctx, req)
			notTaken = errors.Is(err, ErrNotRunning)
			return resp, err
		}, req)
		if notTaken {
			return nil
		}
		if !failed && len(resp) > MaxCallSize {
			failure, failed = fmt.Sprintf("response of %d bytes: at most %d", len(resp), MaxCallSize), true
		}
		head[4] = statusOK
		if failed {
			head[4], resp = statusError, []byte(failure)
			if len(resp) > MaxCallSize {
				resp = resp[:MaxCallSize]
			}
		}
		binary.BigEndian.PutUint32(head[:4], uint32(1+len(resp)))
		var err error
		if out, err = writeFrame(conn, out, head[:], resp); err != nil {
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

// Answer runs handle and gives its response, or the text of its error or
// panic. The text is made here, under the recover: an Error method can
// panic too.
func Answer(ctx context.Context, handle CallHandler, req []byte) (resp []byte, failure string, failed bool) {
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

// Call sends request to the child's service and returns its response. An
// error the service's handler returned is a *HandlerError. ctx bounds the
// whole call; a call it cuts short leaves the handler running in the child.
func (r *Run) Call(ctx context.Context, request []byte) ([]byte, error) {
	resp, err := r.call(ctx, request)
	if err != nil && !answered(err) {
		return nil, fmt.Errorf("service %q: %w", r.spec.Name, err)
	}
	return resp, err
}

func (r *Run) call(ctx context.Context, request []byte) ([]byte, error) {
	if len(request) > MaxCallSize {
		return nil, fmt.Errorf("request of %d bytes: at most %d", len(request), MaxCallSize)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := r.calls.get(ctx, func() (net.Conn, error) { return r.dial(ctx, KindCalls) })
	if err != nil {
		return nil, err
	}
	resp, reusable, err := c.call(ctx, request)
	r.calls.put(c, reusable)
	if err == nil || answered(err) {
		return resp, err
	}
	return nil, connErr(ctx, err, r.calls.isClosed())
}

// connErr says why a call or dial failed on a read or write: because ctx
// ended (a deadline met on the socket is ctx's, set there a moment before
// ctx saw it), or because the child is gone.
func connErr(ctx context.Context, err error, gone bool) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return context.DeadlineExceeded
	case gone || ended(err):
		// err is the child's end as the socket saw it (EOF, a reset, a
		// closed connection): its text says how, but it is not wrapped, so
		// that errors.Is on a failed call or dial finds ErrNotRunning and
		// not an io.EOF or net.ErrClosed a caller could take for a clean
		// end of its own.
		return fmt.Errorf("the child ended (%v): %w", err, ErrNotRunning) //nolint:errorlint // err is formatted, not wrapped, on purpose: see above
	}
	return err
}

// callConn is the parent's end of a call connection.
type callConn struct {
	conn     net.Conn
	r        *bufio.Reader
	buf      []byte
	deadline bool // conn has a deadline set
}

func newCallConn(conn net.Conn) *callConn { return &callConn{conn: conn, r: bufio.NewReader(conn)} }

// past is a deadline that has passed: it wakes a blocked read or write.
var past = time.Unix(1, 0)

// call makes one call on c and reports whether c can carry another: not
// after an error other than a *HandlerError, which leaves it in an unknown
// state, nor when ctx's cancellation may still wake it.
func (c *callConn) call(ctx context.Context, request []byte) (resp []byte, reusable bool, err error) {
	if d, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(d)
		c.deadline = true
	} else if c.deadline {
		_ = c.conn.SetDeadline(time.Time{})
		c.deadline = false
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(past) })
		defer func() {
			if !stop() { // the wake-up may still hit the connection
				reusable = false
			}
		}()
	}
	resp, err = c.exchange(request)
	return resp, err == nil || answered(err), err
}

// answered reports whether err is the handler's own answer. The call path
// makes a *HandlerError itself and never wraps it, so a type assertion
// tells, without errors.As's reflection on every call.
func answered(err error) bool {
	_, ok := err.(*HandlerError) //nolint:errorlint // never wrapped here: see above
	return ok
}

// exchange writes request and reads its response.
func (c *callConn) exchange(request []byte) ([]byte, error) {
	var head [5]byte
	var err error
	binary.BigEndian.PutUint32(head[:4], uint32(len(request)))
	if c.buf, err = writeFrame(c.conn, c.buf, head[:4], request); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:4])
	if n == 0 || n-1 > MaxCallSize {
		return nil, fmt.Errorf("%w: response of %d bytes: want 1 to %d", ErrProtocol, n, MaxCallSize+1)
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

// callPool holds a Run's call connections: at most MaxConcurrentCalls in
// use, and a few idle ones.
type callPool struct {
	slots  chan struct{} // a token per call under way
	mu     sync.Mutex
	idle   []*callConn
	busy   map[*callConn]struct{}
	closed bool // the child has ended: every connection is closed
}

func newCallPool() *callPool {
	return &callPool{slots: make(chan struct{}, MaxConcurrentCalls), busy: make(map[*callConn]struct{})}
}

// get waits for a turn within ctx and returns a connection for one call:
// an idle one, or one it dials. The call ends with put.
func (p *callPool) get(ctx context.Context, dial func() (net.Conn, error)) (*callConn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c, err := p.take(); c != nil || err != nil {
		return c, err
	}
	conn, err := dial()
	if err != nil {
		<-p.slots
		return nil, err
	}
	c := newCallConn(conn)
	if !p.add(c) {
		return nil, ErrNotRunning
	}
	return c, nil
}

// take returns an idle connection, or nil, on a turn get holds.
func (p *callPool) take() (*callConn, error) {
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

// add makes c, freshly dialed on a turn get holds, a connection in use; it
// reports false, having closed c and given the turn back, if the child has
// ended meanwhile.
func (p *callPool) add(c *callConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.conn.Close() // never used; an error closing it changes nothing
		<-p.slots
		return false
	}
	p.busy[c] = struct{}{}
	return true
}

// put ends the call on c and gives its turn back: c is kept for a later
// call if keep allows and there is room, and closed otherwise.
func (p *callPool) put(c *callConn, keep bool) {
	p.mu.Lock()
	delete(p.busy, c)
	if keep && !p.closed && len(p.idle) < maxIdleCalls {
		p.idle = append(p.idle, c)
		c = nil
	}
	p.mu.Unlock()
	<-p.slots
	if c != nil {
		_ = c.conn.Close() // not kept; an error closing it changes nothing
	}
}

// isClosed reports whether the child has ended.
func (p *callPool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// close closes every connection, idle or in use, and every one added or
// put back from now on: the child has ended.
func (p *callPool) close() {
	p.mu.Lock()
	conns := p.idle
	for c := range p.busy {
		conns = append(conns, c)
	}
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.conn.Close() // the child is gone; an error closing changes nothing
	}
}
