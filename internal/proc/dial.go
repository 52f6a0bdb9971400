package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/chans"
)

// ErrNotRunning is returned by Dial and Call when the child has not started
// its service, or has exited.
var ErrNotRunning = errors.New("not running")

// Dial opens a connection to the child's service: one end of a fresh
// socketpair goes to the child over the control channel, and the service's
// connection handler takes it there. ctx bounds the wait for the channel.
func (r *Run) Dial(ctx context.Context) (net.Conn, error) {
	conn, err := r.dial(ctx, KindConn)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", r.spec.Name, err)
	}
	return conn, nil
}

// dial sends the child one end of a fresh socketpair with a frame of kind
// k, within ctx and within a heartbeat period: a child that does not read
// its channel that long is hung, and its heartbeat will say so.
func (r *Run) dial(ctx context.Context, k Kind) (net.Conn, error) {
	r.mu.Lock()
	ctl := r.ctl
	r.mu.Unlock()
	if ctl == nil || !chans.Closed(r.ready) {
		return nil, ErrNotRunning
	}
	select {
	case r.writes <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.writes }()
	if r.deaf.Load() {
		return nil, errDeaf
	}
	deadline, ours := time.Now().Add(r.exec.Heartbeat), true
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ours = d, false
	}
	_ = ctl.SetWriteDeadline(deadline)
	if ctx.Done() != nil {
		woken := make(chan struct{})
		stop := context.AfterFunc(ctx, func() { _ = ctl.SetWriteDeadline(past); close(woken) })
		defer func() {
			if !stop() {
				<-woken // before the next writer sets its own deadline
			}
		}()
	}
	conn, err := sendConn(ctl, k)
	if ours && ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		r.deaf.Store(true)
		return nil, errDeaf
	}
	if err != nil {
		return nil, connErr(ctx, err, false)
	}
	return conn, nil
}

// errDeaf is dial's error while the child does not read its control
// channel.
var errDeaf = fmt.Errorf("the child is not reading its control channel (hung, or stopped): %w", ErrNotRunning)

// ended reports whether err says the other end of a socket is gone.
func ended(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, unix.EPIPE) ||
		errors.Is(err, unix.ECONNRESET) || errors.Is(err, net.ErrClosed)
}
