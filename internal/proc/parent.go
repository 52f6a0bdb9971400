package proc

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
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
	// Limits are the resource limits of each child; see limit.
	Limits lifecycle.ResourceLimits
	// Spares, when set, holds a child spawned ahead, which the next
	// launch takes instead of spawning one (see Prespawn).
	Spares *Spares

	// cgroups, for tests, stands for the system's cgroups.
	cgroups *cgroups
	// fake, for tests, starts a child that is not marked as one and so
	// speaks for itself, with these extra environment variables.
	fake []string
}

// Launch spawns the child, or gives the go-ahead to the one held in
// e.Spares, and returns at once.
func (e Executor) Launch(spec executor.Spec) executor.Run {
	r := e.Spares.take()
	if r != nil {
		r.release(spec)
	} else {
		r = e.start(spec, false)
	}
	e.refill(r)
	return r
}

// start spawns a child; a held one waits after its hello until release.
func (e Executor) start(spec executor.Spec, held bool) *Run {
	r := &Run{
		exec:     e,
		spec:     spec,
		ready:    make(chan struct{}),
		stop:     make(chan struct{}),
		hung:     make(chan string, 1),
		done:     make(chan struct{}),
		writes:   make(chan struct{}, 1),
		calls:    newCallPool(),
		held:     held,
		released: make(chan struct{}),
		// A relayed line keeps the child's caller, not ours.
		log: e.Log.WithOptions(zap.WithCaller(false)).With(zap.String("service", spec.Name)),
	}
	if r.exec.Heartbeat <= 0 {
		r.exec.Heartbeat = DefaultHeartbeat
	}
	if r.exec.KillGrace <= 0 {
		r.exec.KillGrace = DefaultKillGrace
	}
	if !held {
		close(r.released)
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
	// held: the child waits after its hello until released is closed,
	// by the launch that takes it (see Spares).
	held     bool
	released chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	hung     chan string // why the supervisor found the child hung
	done     chan struct{}
	err      error
	pid      atomic.Int64
	tail     tail
	head     crashHead

	mu     sync.Mutex
	report report        // what the child or the watch said about the end
	reaped bool          // Wait has returned: the PID is no longer ours
	ctl    *net.UnixConn // the control channel while the child runs

	writes chan struct{} // a token: whoever holds it writes to ctl
	// deaf: a write to ctl found the child not reading for a heartbeat
	// period, and no pong has come since; dials fail at once meanwhile.
	deaf  atomic.Bool
	calls *callPool // connections for Call
	// limits are the child's limits as set, once it said hello; the
	// control goroutine sets them before main reads them.
	limits *limited
}

// report gathers what is known about how a child ended.
type report struct {
	startFailed string
	stopped     *string
	exited      bool
	noRestart   bool
	exitText    string
	fatal       string
	protocol    string            // what the child got wrong on its control channel
	signaled    string            // the signal sent to the child directly that made it stop
	killedFor   string            // why the parent killed it
	killCause   error             // the failure the kill answered, when it has a type: a stop timeout
	panicked    *modes.PanicError // the panic the child reported
}

// Ready is closed when the child reports its service started.
func (r *Run) Ready() <-chan struct{} { return r.ready }

// Wait blocks until the child has exited and its output is drained.
func (r *Run) Wait() error { <-r.done; return r.err }

// Stop asks the child to stop; past the stop timeout the child is told to
// end at once, with all it started, and its process group gets SIGKILL a
// grace period later.
func (r *Run) Stop() { r.stopOnce.Do(func() { close(r.stop) }) }

// Hung ends a child that its supervisor found hung, for why, as one that
// misses its heartbeats: SIGQUIT to the child, so it writes its goroutines
// to stderr, where its error finds them, then SIGKILL to its process group
// a kill grace later.
func (r *Run) Hung(why string) {
	select {
	case r.hung <- why:
	default: // told already
	}
}

// Kill ends the child and everything in its process group at once.
func (r *Run) Kill(why string) {
	r.signal(unix.SIGKILL, why)
	r.Stop()
}

// signal sends sig to the child's process group, noting why (the first
// reason given wins). It does nothing once the child is reaped, since its
// group ID may have been reused, or before it has a PID: main checks for a
// kill noted before then.
func (r *Run) signal(sig unix.Signal, why string) { r.signalTo(-1, sig, why, nil) }

// signalTo sends sig to the child's process group (to -1) or to the child
// alone (to 1), as signal does; cause, if not nil, is the failure the
// signal answers, which the child's error wraps if why is the reason kept.
func (r *Run) signalTo(to int, sig unix.Signal, why string, cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.report.killedFor == "" {
		r.report.killedFor, r.report.killCause = why, cause
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
