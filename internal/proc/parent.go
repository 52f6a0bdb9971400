package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
)

// Environment of a child. EnvChild marks the child and names its service;
// the child removes it at once, so its own children start normally.
const (
	EnvChild     = "HOSTFX_CHILD"
	envLogFormat = "HOSTFX_LOG_FORMAT"
	// EnvIgnoreEOF makes a child ignore the end of its control channel, so
	// tests can prove the parent-death signal alone ends it.
	EnvIgnoreEOF = "HOSTFX_CHILD_IGNORE_EOF"
	controlFD    = 3
)

// Defaults of the parent's watch over a child.
const (
	DefaultHeartbeat = time.Second
	DefaultKillGrace = 2 * time.Second
	tailSize         = 64 << 10
	logQueue         = 1024
	raceExitCode     = 66 // how a race-detecting child exits after a race
)

// Executor runs each launch of a service in a fresh child process.
type Executor struct {
	Log *zap.Logger
	// Args are the child's arguments; the child's argv[0] is set to
	// "hostfx: <app> <service>" so it stands out in ps.
	Args []string
	App  string
	// Heartbeat is the ping interval; a child that misses three is hung.
	Heartbeat time.Duration
	// KillGrace is how long a child that overran its stop gets, once told
	// to end at once, before its process group gets SIGKILL; likewise a
	// hung child between SIGQUIT and SIGKILL.
	KillGrace time.Duration

	// fake, for tests, starts a child that is not marked as one and so
	// speaks for itself, with these extra environment variables.
	fake []string
}

// Launch spawns the child and returns at once.
func (e Executor) Launch(spec executor.Spec) executor.Run {
	r := &Run{
		exec:   e,
		spec:   spec,
		ready:  make(chan struct{}),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		writes: make(chan struct{}, 1),
		calls:  newCallPool(),
		// A relayed line keeps the child's caller, not ours.
		log: e.Log.WithOptions(zap.WithCaller(false)).With(zap.String("service", spec.Name)),
	}
	if r.exec.Heartbeat <= 0 {
		r.exec.Heartbeat = DefaultHeartbeat
	}
	if r.exec.KillGrace <= 0 {
		r.exec.KillGrace = DefaultKillGrace
	}
	go r.main()
	return r
}

// Run is one child process.
type Run struct {
	exec Executor
	spec executor.Spec
	log  *zap.Logger

	ready     chan struct{}
	readyOnce sync.Once
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{}
	err       error
	pid       atomic.Int64
	tail      tail
	head      crashHead

	mu     sync.Mutex
	report report        // what the child or the watch said about the end
	reaped bool          // Wait has returned: the PID is no longer ours
	ctl    *net.UnixConn // the control channel while the child runs

	writes chan struct{} // a token: whoever holds it writes to ctl
	// deaf: a write to ctl found the child not reading for a heartbeat
	// period, and no pong has come since; dials fail at once meanwhile.
	deaf  atomic.Bool
	calls *callPool // connections for Call
}

// report gathers what is known about how a child ended.
type report struct {
	startFailed string
	stopped     *string
	exited      bool
	noRestart   bool
	exitText    string
	fatal       string
	protocol    string // what the child got wrong on its control channel
	killedFor   string // why the parent killed it
}

// Ready is closed when the child reports its service started.
func (r *Run) Ready() <-chan struct{} { return r.ready }

// Wait blocks until the child has exited and its output is drained.
func (r *Run) Wait() error { <-r.done; return r.err }

// Stop asks the child to stop; past the stop timeout the child is told to
// end at once, with all it started, and its process group gets SIGKILL a
// grace period later.
func (r *Run) Stop() { r.stopOnce.Do(func() { close(r.stop) }) }

// Kill ends the child and everything in its process group at once.
func (r *Run) Kill(why string) {
	r.signal(unix.SIGKILL, why)
	r.Stop()
}

// signal sends sig to the child's process group, noting why (the first
// reason given wins). It does nothing once the child is reaped, since its
// group ID may have been reused, or before it has a PID: main checks for a
// kill noted before then.
func (r *Run) signal(sig unix.Signal, why string) { r.signalTo(-1, sig, why) }

// signalTo sends sig to the child's process group (to -1) or to the child
// alone (to 1), as signal does.
func (r *Run) signalTo(to int, sig unix.Signal, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.report.killedFor == "" {
		r.report.killedFor = why
	}
	if pid := r.PID(); pid > 0 && !r.reaped {
		_ = unix.Kill(to*pid, sig)
	}
}

// TID is the child's PID, the ID of its main thread; a SEPARATE_PROCESS
// service's Run itself runs on another thread of the child.
func (r *Run) TID() int { return int(r.pid.Load()) }

// PID is the child's process ID, or 0 until it has started.
func (r *Run) PID() int { return int(r.pid.Load()) }

// Grace is how long past the stop timeout the escalation may take.
func (r *Run) Grace() time.Duration { return 2*r.exec.KillGrace + time.Second }

func (r *Run) note(f func(*report)) {
	r.mu.Lock()
	f(&r.report)
	r.mu.Unlock()
}

// main starts and waits for the child from one locked thread: the child's
// parent-death signal fires when the thread that started it exits, so that
// thread must live until the child is gone.
func (r *Run) main() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(r.done)

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		r.err = fmt.Errorf("service %q: socketpair: %w", r.spec.Name, err)
		return
	}
	parentEnd, childEnd := os.NewFile(uintptr(fds[0]), "control"), os.NewFile(uintptr(fds[1]), "control")
	conn, err := net.FileConn(parentEnd)
	_ = parentEnd.Close() // conn has its own copy, if any; nothing to do on error
	if err != nil {
		_ = childEnd.Close() // never handed to a child; nothing to do on error
		r.err = fmt.Errorf("service %q: control socket: %w", r.spec.Name, err)
		return
	}
	// control closes conn too; closing twice, or failing to, is harmless.
	defer func() { _ = conn.Close() }()

	cmd, stderr, err := r.command(childEnd)
	if err == nil {
		err = cmd.Start()
	}
	if err != nil && stderr != nil {
		stderr.close()
	}
	// The child has its own copy; ours would hide its EOF. An error closing
	// it leaves nothing to do.
	_ = childEnd.Close()
	if err != nil {
		r.err = fmt.Errorf("service %q: spawn: %w", r.spec.Name, err)
		return
	}
	pid := cmd.Process.Pid
	r.pid.Store(int64(pid))
	r.mu.Lock()
	killed := r.report.killedFor != "" // Kill came before the PID was known
	r.mu.Unlock()
	if killed {
		_ = unix.Kill(-pid, unix.SIGKILL)
	}
	r.log = r.log.With(zap.Int("pid", pid))
	stderr.start(r.log)
	r.mu.Lock()
	r.ctl, _ = conn.(*net.UnixConn)
	r.mu.Unlock()

	var wg sync.WaitGroup
	exited := make(chan struct{})
	wg.Go(func() { r.control(conn, pid, exited) })

	// Wait returns once the child has exited and exec has copied all of its
	// stderr, or WaitDelay after the exit if a grandchild holds the pipe.
	waitErr := cmd.Wait()
	r.mu.Lock()
	r.reaped, r.ctl = true, nil
	r.mu.Unlock()
	r.calls.close()
	close(exited)
	// Anything the child left in its group dies with it.
	_ = unix.Kill(-pid, unix.SIGKILL)
	stderr.close()
	wg.Wait()
	r.err = r.result(cmd.ProcessState, waitErr)
}

func (r *Run) command(childEnd *os.File) (*exec.Cmd, *stderrSink, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, r.exec.Args...)
	cmd.Args[0] = fmt.Sprintf("hostfx: %s %s", r.exec.App, r.spec.Name)
	cmd.Env = append(childEnv(), EnvChild+"="+r.spec.Name, envLogFormat+"=json")
	if r.exec.fake != nil {
		cmd.Env = append(childEnv(), r.exec.fake...)
	}
	if raceBuild && !strings.Contains(os.Getenv("GORACE"), "atexit_sleep_ms") {
		// The race runtime otherwise sleeps a second at every exit, which
		// would add a second to every stop and restart of a child.
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	}
	cmd.ExtraFiles = []*os.File{childEnd} // fd 3
	cmd.Stdin = nil
	cmd.Stdout = os.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true, // a terminal's Ctrl-C reaches the parent only
		// Not SIGKILL: the child must live long enough to end what it
		// started (see guard).
		Pdeathsig: endSignal,
	}
	cmd.WaitDelay = r.exec.KillGrace
	stderr := r.newStderr()
	cmd.Stderr = stderr
	return cmd, stderr, nil
}

// control speaks the protocol with the child until it exits: it checks the
// hello, relays readiness and reports, sends heartbeats and the stop, and
// escalates when the child is hung or does not stop in time.
func (r *Run) control(conn net.Conn, pid int, exited <-chan struct{}) {
	// The child has exited: an error closing its channel changes nothing.
	defer func() { _ = conn.Close() }()
	frames := make(chan Frame, 8)
	readErr := make(chan error, 1)
	go func() { readErr <- r.readChild(newBoundedReader(conn, r.exec.Heartbeat), frames) }()

	kill := func(sig unix.Signal, why string) { r.signal(sig, why) }
	hb := time.NewTicker(r.exec.Heartbeat)
	defer hb.Stop()
	var (
		readySeen  bool
		seq        uint64
		lastPong                   = time.Now()
		stopping   <-chan struct{} = r.stop
		term       <-chan time.Time
		killAt     <-chan time.Time
		stop       = Frame{Kind: KindStop, Deadline: r.spec.StopTimeout}
		stopUnsent bool // the stop found the channel busy: sent again at each heartbeat
	)
	// handle takes in a frame that readChild let through.
	handle := func(f Frame) {
		switch f.Kind {
		case KindHello:
		case KindReady: // the reader has closed ready, and the next tick starts the heartbeat clock
		case KindStartFailed:
			r.note(func(rp *report) { rp.startFailed = f.Text })
		case KindPong:
			if f.Seq <= seq { // a late answer is still an answer
				lastPong = time.Now()
			}
		case KindStopped:
			r.note(func(rp *report) { rp.stopped = &f.Text })
		case KindExited:
			r.note(func(rp *report) { rp.exited, rp.noRestart, rp.exitText = true, f.NoRestart, f.Text })
		case KindFatal:
			r.note(func(rp *report) { rp.fatal = f.Text })
		}
	}
	var drain *time.Timer // ends the read of what a child wrote before it exited
	defer func() {
		if drain != nil {
			drain.Stop()
		}
	}()
	for {
		select {
		case <-exited:
			// Frames the child wrote just before exiting are still queued:
			// read them to the end, which comes at once now that it is gone.
			// Nothing is sent or signalled any more.
			exited, stopping, term, killAt = nil, nil, nil, nil
			hb.Stop()
			// Closed rather than given a read deadline, which the reader
			// owns: a socket some other process holds must not keep us.
			drain = time.AfterFunc(time.Second, func() { _ = conn.Close() })
		case err := <-readErr:
			for len(frames) > 0 { // the reader queued these before it stopped
				handle(<-frames)
			}
			protocol := errors.Is(err, ErrProtocol)
			if protocol {
				// Reported even when the child has exited already: a frame
				// it cut off is what went wrong, not its exit status.
				r.note(func(rp *report) { rp.protocol = err.Error() })
			}
			switch {
			case exited == nil:
				return
			case protocol:
				kill(unix.SIGKILL, err.Error())
			default:
				// The channel ends as the child exits; a child that closed
				// its end and runs on can no longer be stopped or watched.
				select {
				case <-exited:
					return
				case <-time.After(r.exec.KillGrace):
					kill(unix.SIGKILL, "control channel closed while the child runs")
				}
			}
			<-exited
			return
		case f := <-frames:
			handle(f)
		case <-hb.C:
			if stopUnsent && term != nil {
				stopUnsent = !r.send(conn, stop)
			}
			if killAt != nil || stopping == nil {
				continue // escalating, or stopping: the stop timeout governs now
			}
			if chans.Closed(r.ready) && !readySeen {
				// The reader closes ready before the Ready frame reaches
				// handle: heartbeats count from here, not from the hello.
				readySeen, lastPong = true, time.Now()
			}
			if chans.Closed(r.ready) && time.Since(lastPong) > 3*r.exec.Heartbeat {
				// SIGQUIT makes a Go child dump its goroutines to stderr,
				// which lands in the crash report.
				r.mu.Lock()
				if r.report.killedFor == "" {
					r.report.killedFor = fmt.Sprintf("hung: no heartbeat answer for %v", 3*r.exec.Heartbeat)
				}
				if !r.reaped {
					_ = unix.Kill(pid, unix.SIGQUIT) // the child alone: only it dumps
				}
				r.mu.Unlock()
				killAt = time.After(r.exec.KillGrace)
				continue
			}
			seq++
			r.send(conn, Frame{Kind: KindPing, Seq: seq})
		case <-stopping:
			stopping = nil
			term = time.After(r.spec.StopTimeout) // from the request, however long the send takes
			stopUnsent = !r.send(conn, stop)
		case <-term:
			term = nil
			// Not SIGTERM, which the child's app would take for a second
			// request to stop and report as such: endSignal has the child
			// end what it started, and itself, at once.
			r.signalTo(1, endSignal, fmt.Sprintf("did not stop within %v", r.spec.StopTimeout))
			killAt = time.After(r.exec.KillGrace)
		case <-killAt:
			killAt = nil
			kill(unix.SIGKILL, "")
		}
	}
}

// send writes f to the child and reports whether it did. A child that has
// not read its channel for a heartbeat period does not get it, nor does one
// whose channel other writers held that long: a ping it missed counts
// against it, and the control loop sends a stop again.
func (r *Run) send(conn net.Conn, f Frame) bool {
	wait := time.NewTimer(r.exec.Heartbeat)
	defer wait.Stop()
	select {
	case r.writes <- struct{}{}:
	case <-wait.C:
		return false
	}
	defer func() { <-r.writes }()
	_ = conn.SetWriteDeadline(time.Now().Add(r.exec.Heartbeat))
	err := Write(conn, f)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		r.deaf.Store(true)
	}
	return err == nil
}

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

// childEnv is this process's environment minus the Go runtime's memory
// settings: a memory limit meant for this process, copied into each of N
// children, would promise them N times the memory.
func childEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOMEMLIMIT=") || strings.HasPrefix(kv, "GOGC=") ||
			// The service manager's socket is the app's: a child that
			// notified it would speak for the whole app.
			strings.HasPrefix(kv, "NOTIFY_SOCKET=")
	})
}
