package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Child is this process's control channel to its parent, when this process
// is a child started for a process-mode service.
type Child struct {
	// Service names the service this child runs.
	Service   string
	conn      *net.UnixConn
	wmu       sync.Mutex
	ignoreEOF bool
	watchOnce sync.Once
}

var current *Child

func init() {
	name := os.Getenv(EnvChild)
	if name == "" {
		return
	}
	// The marker must not reach this child's own children.
	_ = os.Unsetenv(EnvChild)
	ignoreEOF := os.Getenv(EnvIgnoreEOF) != ""
	_ = os.Unsetenv(EnvIgnoreEOF)
	limited := os.Getenv(envLimited) != ""
	_ = os.Unsetenv(envLimited)
	guard()                     // before the service can start anything
	unix.CloseOnExec(controlFD) // exec cleared it; the child's own children must not get the channel
	closeInherited()
	// As a net.UnixConn the channel uses the runtime's poller, so a blocked
	// read parks a goroutine instead of holding an OS thread (which a young
	// process would have to create), and it can carry descriptors.
	conn, err := controlConn()
	if err == nil {
		current = &Child{Service: name, conn: conn, ignoreEOF: ignoreEOF}
		err = current.Send(Frame{Kind: KindHello, Version: Version, PID: uint32(os.Getpid())})
	}
	if err == nil && limited {
		if err = current.awaitGo(); err == nil {
			watchCPU(name)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hostfx child %q: control channel: %v\n", name, err)
		os.Exit(2)
	}
}

// controlFile keeps fd 3 open, and the channel where a child's code, or a
// test playing a broken child, finds it: net.FileConn works on a copy.
var controlFile *os.File

// controlConn makes a connection of the channel on fd 3.
func controlConn() (*net.UnixConn, error) {
	controlFile = os.NewFile(controlFD, "control")
	c, err := net.FileConn(controlFile)
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

// awaitGo waits for the parent to set this child's limits. It reads the
// Go frame's bytes and no more: what follows is Serve's to read.
func (c *Child) awaitGo() error {
	want, err := encode(Frame{Kind: KindGo})
	if err != nil {
		return err
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.conn, got); err != nil {
		return fmt.Errorf("wait for the go-ahead: %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: want the go-ahead first, got % x", ErrProtocol, got)
	}
	return nil
}

// cpuLimitReached is what a child says as it ends at its CPU time limit.
const cpuLimitReached = "reached its CPU time limit (SIGXCPU)"

// watchCPU ends this child, saying why, when the kernel tells it that it
// has used its CPU time. Go ignores SIGXCPU unless told to take it; the
// kernel's SIGKILL a second later would not say whose kill it was. Taking a
// signal costs an OS thread, so only a child with a CPU time limit does.
func watchCPU(service string) {
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_CPU, &l) != nil || l.Cur == unix.RLIM_INFINITY {
		return
	}
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, unix.SIGXCPU)
	go func() {
		<-xcpu
		say("hostfx child %q: %s: ending all it started, and itself", service, cpuLimitReached)
		endAll()
	}()
}

// Current returns this process's control channel, or nil when this process
// is not a child.
func Current() *Child { return current }

// Send writes one frame to the parent.
func (c *Child) Send(f Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return Write(c.conn, f)
}

// Handler reacts to what the parent sends.
type Handler struct {
	// Ping must answer with a Pong carrying seq, from wherever proves the
	// service alive (an async service answers from its loop).
	Ping func(seq uint64)
	// Stop asks for an ordered stop within deadline.
	Stop func(deadline time.Duration)
	// Conn hands over a connection the parent made to the service, and
	// Calls one the parent made for calls (see ServeCalls); the handler
	// owns it.
	Conn, Calls func(conn net.Conn)
}

// Serve reads the parent's frames until the channel ends. When the parent
// is gone (EOF) or speaks garbage, the child ends at once, and with it all
// it started: nothing of a child outlives its parent.
func (c *Child) Serve(h Handler) {
	rights := newRightsReader(c.conn)
	r := NewReader(rights)
	for {
		f, err := r.Read()
		if err == nil && (f.Kind == KindConn || f.Kind == KindCalls) {
			var conn net.Conn
			if conn, err = rights.take(f.Kind); err == nil {
				if f.Kind == KindConn {
					h.Conn(conn)
				} else {
					h.Calls(conn)
				}
				continue
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && c.ignoreEOF {
				select {} // leave it to the parent-death signal
			}
			if !errors.Is(err, io.EOF) {
				say("hostfx child %q: %v", c.Service, err)
			}
			endAll()
		}
		switch f.Kind {
		case KindPing:
			h.Ping(f.Seq)
		case KindStop:
			h.Stop(f.Deadline)
		default:
			say("hostfx child %q: %v: unexpected %v from the parent", c.Service, ErrProtocol, f.Kind)
			endAll()
		}
	}
}

// closeInherited closes every descriptor above the control channel that
// this process inherited rather than opened: whatever leaked through the
// parent's exec. Go opens all its own descriptors close-on-exec, so an
// inherited one is exactly one without that flag.
func closeInherited() {
	entries, err := readDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= controlFD {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			_ = unix.Close(fd)
		}
	}
}
