package proc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Version is the control protocol version; parent and child must agree.
const Version = 1

// MaxFrame caps a frame's length, so garbage on the channel cannot make
// the reader allocate without bound.
const MaxFrame = 64 << 10

// ErrProtocol is wrapped by every error about a malformed frame.
var ErrProtocol = errors.New("protocol error")

// Kind says what a frame carries.
type Kind uint8

// The frame kinds. The child sends Hello first, then Ready or StartFailed;
// the parent sends Ping and Stop; the child answers Pong and Stopped,
// reports an end of its own with Exited or Fatal, and passes its service's
// signs of life on with Alive when the service has a watchdog. A child that
// stops because it was sent a signal directly says so with Signaled before
// its Stopped; one whose service panicked sends the panic with Panic
// before its StartFailed or Fatal, whatever its logger does with it. Conn and Calls, from the parent, carry a socket descriptor
// for the service: a connection for it to serve (see Run.Dial), or one for
// calls (see Run.Call). Go, from the parent, lets a child that waits for
// it, one with resource limits, build its service once they are set.
const (
	KindHello       Kind = iota + 1 // Version, PID
	KindReady                       // the service started
	KindStartFailed                 // Text: why not
	KindPing                        // Seq
	KindPong                        // Seq
	KindStop                        // Deadline
	KindStopped                     // Text: the stop's error, empty if clean
	KindExited                      // the service ended cleanly on its own; NoRestart, Text
	KindFatal                       // Text: why the service failed
	KindConn                        // a connection for the service, as the descriptor sent with it
	KindCalls                       // a connection for calls to the service, likewise
	KindAlive                       // the service shows life, for its watchdog
	KindSignaled                    // Text: the signal sent to the child directly that made it stop, before Stopped
	KindPanic                       // Text: a panic's value; Func, Stack: where it panicked (bounded, see encode)
	KindGo                          // the child's limits are set: it may go on
)

var kindNames = [...]string{"", "hello", "ready", "start-failed", "ping", "pong", "stop", "stopped", "exited", "fatal", "conn", "calls", "alive", "signaled", "panic", "go"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k > 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Frame is one control message. Which fields matter depends on Kind.
type Frame struct {
	Kind      Kind
	Version   uint16
	PID       uint32
	Seq       uint64
	Deadline  time.Duration
	NoRestart bool
	Text      string
	Func      string
	Stack     string // a string, not bytes, so frames compare with ==
}

// Bounds of a Panic frame's parts: each is cut to its bound, so the frame
// always fits within MaxFrame.
const (
	maxPanicText  = 4 << 10
	maxPanicFunc  = 1 << 10
	maxPanicStack = 32 << 10
)

// Write encodes f as one frame: a 4-byte big-endian length, then the kind
// byte and the payload.
func Write(w io.Writer, f Frame) error {
	b, err := encode(f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func encode(f Frame) ([]byte, error) {
	var payload []byte
	switch f.Kind {
	case KindHello:
		payload = binary.BigEndian.AppendUint16(payload, f.Version)
		payload = binary.BigEndian.AppendUint32(payload, f.PID)
	case KindReady, KindConn, KindCalls, KindAlive, KindGo:
	case KindPing, KindPong:
		payload = binary.BigEndian.AppendUint64(payload, f.Seq)
	case KindStop:
		payload = binary.BigEndian.AppendUint64(payload, uint64(f.Deadline))
	case KindExited:
		b := byte(0)
		if f.NoRestart {
			b = 1
		}
		payload = append(append(payload, b), f.Text...)
	case KindStartFailed, KindStopped, KindFatal, KindSignaled:
		payload = append(payload, f.Text...)
	case KindPanic:
		payload = appendPart(payload, cutTo(f.Text, maxPanicText))
		payload = appendPart(payload, cutTo(f.Func, maxPanicFunc))
		payload = append(payload, cutStack(f.Stack)...)
	default:
		return nil, fmt.Errorf("%w: cannot write %v", ErrProtocol, f.Kind)
	}
	if 1+len(payload) > MaxFrame {
		payload = payload[:MaxFrame-1] // only text gets this long; keep its start
	}
	buf := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(1+len(payload)))
	buf[4] = byte(f.Kind)
	return append(buf, payload...), nil
}

// appendPart appends s with its length before it, in two bytes.
func appendPart(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// readPart reads a part that appendPart wrote from the start of p, and
// returns it and what follows it.
func readPart(p []byte) (part string, rest []byte, ok bool) {
	if len(p) < 2 {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(p))
	if len(p) < 2+n {
		return "", nil, false
	}
	return string(p[2 : 2+n]), p[2+n:], true
}

// cutTo cuts s to at most n bytes.
func cutTo(s string, n int) string { return s[:min(len(s), n)] }

// cutStack cuts a stack to at most maxPanicStack bytes, at a line's end:
// it keeps the top of the stack, where the panic is.
func cutStack(stack string) string {
	if len(stack) <= maxPanicStack {
		return stack
	}
	head := stack[:maxPanicStack]
	if i := strings.LastIndexByte(head, '\n'); i > 0 {
		head = head[:i+1]
	}
	return head
}

// Reader decodes frames from a stream.
type Reader struct {
	r   *bufio.Reader
	buf []byte
	// A frame that has begun must arrive whole within rest, when conn is
	// set: frames are written whole, so one cut off mid-way is garbage,
	// not a slow writer, and must not pass for a hung child.
	conn interface{ SetReadDeadline(time.Time) error }
	rest time.Duration
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 4096)} }

// newBoundedReader returns a Reader of conn that reports a frame whose
// rest does not arrive within rest of its first byte as a protocol error.
// It owns conn's read deadline.
func newBoundedReader(conn net.Conn, rest time.Duration) *Reader {
	r := NewReader(conn)
	r.conn, r.rest = conn, rest
	return r
}

// Read returns the next frame. It returns io.EOF at a clean end between
// frames, and an error wrapping ErrProtocol for anything malformed,
// including a frame cut off mid-way by the end of the stream.
func (r *Reader) Read() (Frame, error) {
	if _, err := r.r.Peek(1); err != nil {
		return Frame{}, err // between frames: not a protocol error
	}
	var armed bool
	if r.conn != nil {
		// Armed only when a read may have to wait: most frames are
		// buffered whole by the time their first byte is.
		defer func() {
			if armed {
				_ = r.conn.SetReadDeadline(time.Time{})
			}
		}()
	}
	r.bound(4, &armed)
	var head [4]byte
	if n, err := io.ReadFull(r.r, head[:]); err != nil {
		return Frame{}, r.cut(err, n, len(head), "of its length")
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n > MaxFrame {
		return Frame{}, fmt.Errorf("%w: frame length %d: want 1 to %d", ErrProtocol, n, MaxFrame)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	body := r.buf[:n]
	r.bound(int(n), &armed)
	if got, err := io.ReadFull(r.r, body); err != nil {
		return Frame{}, r.cut(err, got, int(n), "")
	}
	return decode(Kind(body[0]), body[1:])
}

// bound arms the deadline for the rest of the frame, once, if the next k
// bytes are not buffered yet.
func (r *Reader) bound(k int, armed *bool) {
	if r.conn != nil && !*armed && r.r.Buffered() < k {
		_ = r.conn.SetReadDeadline(time.Now().Add(r.rest))
		*armed = true
	}
}

// cut explains a frame that ended after got of want bytes.
func (r *Reader) cut(err error, got, want int, what string) error {
	if what != "" {
		what = " " + what
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated frame: the stream ended after %d of %d bytes%s", ErrProtocol, got, want, what)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: truncated frame: %d of %d bytes%s, and no more within %v", ErrProtocol, got, want, what, r.rest)
	}
	return fmt.Errorf("%w: truncated frame after %d of %d bytes%s: %w", ErrProtocol, got, want, what, err)
}

func decode(k Kind, p []byte) (Frame, error) {
	f := Frame{Kind: k}
	want := -1 // exact payload size, or -1 for any
	switch k {
	case KindHello:
		if want = 6; len(p) == want {
			f.Version, f.PID = binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:])
		}
	case KindReady, KindConn, KindCalls, KindAlive, KindGo:
		want = 0
	case KindPing, KindPong:
		if want = 8; len(p) == want {
			f.Seq = binary.BigEndian.Uint64(p)
		}
	case KindStop:
		if want = 8; len(p) == want {
			f.Deadline = time.Duration(binary.BigEndian.Uint64(p))
		}
	case KindExited:
		if len(p) == 0 || p[0] > 1 {
			return Frame{}, fmt.Errorf("%w: exited frame needs a flag byte of 0 or 1", ErrProtocol)
		}
		f.NoRestart, f.Text = p[0] == 1, string(p[1:])
	case KindStartFailed, KindStopped, KindFatal, KindSignaled:
		f.Text = string(p)
	case KindPanic:
		var ok bool
		if f.Text, p, ok = readPart(p); ok {
			f.Func, p, ok = readPart(p)
		}
		if !ok || len(f.Text) > maxPanicText || len(f.Func) > maxPanicFunc || len(p) > maxPanicStack {
			return Frame{}, fmt.Errorf("%w: panic frame: want a value of up to %d bytes and a function of up to %d, each after its 2-byte length, then a stack of up to %d",
				ErrProtocol, maxPanicText, maxPanicFunc, maxPanicStack)
		}
		f.Stack = string(p)
	default:
		return Frame{}, fmt.Errorf("%w: unknown frame kind %d", ErrProtocol, uint8(k))
	}
	if want >= 0 && len(p) != want {
		return Frame{}, fmt.Errorf("%w: %v payload of %d bytes: want %d", ErrProtocol, k, len(p), want)
	}
	return f, nil
}
