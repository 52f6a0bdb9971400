package proc

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// rightsReader reads a unix socket and keeps, in order, the descriptors
// that arrive with its bytes. A descriptor is sent with the first byte of
// its frame, so by the time a frame has been read, its descriptor has too.
type rightsReader struct {
	conn *net.UnixConn
	oob  []byte
	fds  []int
}

func newRightsReader(conn *net.UnixConn) *rightsReader {
	return &rightsReader{conn: conn, oob: make([]byte, unix.CmsgSpace(4*4))}
}

func (r *rightsReader) Read(p []byte) (int, error) {
	n, oobn, flags, _, err := r.conn.ReadMsgUnix(p, r.oob)
	// A failed recvmsg, such as ECONNRESET when the parent died with
	// frames we had not read, reports -1 bytes, which bufio takes for a
	// broken reader and panics: the child would then die without ending
	// what it started.
	n = max(n, 0)
	if oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(r.oob[:oobn])
		if perr != nil {
			return n, fmt.Errorf("%w: control message: %w", ErrProtocol, perr)
		}
		for i := range msgs {
			if fds, perr := unix.ParseUnixRights(&msgs[i]); perr == nil {
				r.fds = append(r.fds, fds...)
			}
		}
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return n, fmt.Errorf("%w: descriptors were sent beyond the %d bytes of room for them", ErrProtocol, len(r.oob))
	}
	return n, err
}

// take takes the oldest descriptor received, which came with a frame of
// kind k, and makes it a connection.
func (r *rightsReader) take(k Kind) (net.Conn, error) {
	if len(r.fds) == 0 {
		return nil, fmt.Errorf("%w: %v frame without a descriptor", ErrProtocol, k)
	}
	fd := r.fds[0]
	r.fds = r.fds[1:]
	return fdConn(fd)
}

// fdConn makes a connection of a socket descriptor, which it takes over.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "conn")
	// FileConn has its own copy, if any: an error closing ours changes
	// nothing.
	defer func() { _ = f.Close() }()
	return net.FileConn(f)
}

// sendConn makes a socketpair, sends one end over ctl with a frame of kind
// k and returns the other as a connection.
func sendConn(ctl *net.UnixConn, k Kind) (net.Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	frame, _ := encode(Frame{Kind: k})
	_, _, err = ctl.WriteMsgUnix(frame, unix.UnixRights(fds[1]), nil)
	_ = unix.Close(fds[1]) // the child has its own now, or never will
	if err != nil {
		_ = unix.Close(fds[0])
		return nil, fmt.Errorf("control channel: %w", err)
	}
	return fdConn(fds[0])
}
