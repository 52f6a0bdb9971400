package proc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/lifecycle"
)

// envLimited tells a child to wait for the parent's go-ahead (a Go frame)
// before it builds anything, so that its limits hold from the start, or
// until a launch takes it, when it was spawned ahead (see Spares).
const envLimited = "HOSTFX_CHILD_LIMITED"

// A memory limit held by RLIMIT_DATA bounds the address space a process
// may write, not the memory it uses: what a Go runtime reserves at start
// (its heap index), and the stack of each thread under cgo (RLIMIT_STACK,
// 8 MiB by default), count in full however little is touched. So the
// child's rlimit is what it had reserved when it said hello, plus the
// limit, plus room for threadRoom more threads; under the race detector,
// whose shadow memory grows with the heap, the limit counts raceFactor
// times.
const (
	threadRoom = 8
	raceFactor = 4
)

// limited is a child's resource limits as applied: by its own cgroup, or by
// rlimits.
type limited struct {
	limits lifecycle.ResourceLimits
	cgroup *cgroup // holds memory and processes; nil when rlimits do
}

// limitEnv is what a child with limits finds in its environment.
func limitEnv(l lifecycle.ResourceLimits) []string {
	if l.IsZero() {
		return nil
	}
	env := []string{envLimited + "=1"}
	if l.Memory > 0 {
		// The parent does not pass its own GOMEMLIMIT on (see childEnv);
		// a program that sets a limit with debug.SetMemoryLimit overrides
		// this one.
		env = append(env, "GOMEMLIMIT="+strconv.FormatInt(l.Memory/10*9, 10))
	}
	return env
}

// limit sets the limits of the child pid, which has said hello and waits
// for its go-ahead, and logs how; a child whose limits cannot be set is
// killed, and limit reports false.
func (r *Run) limit(pid int) bool {
	if r.exec.Limits.IsZero() {
		return true
	}
	lim, err := r.setLimits(pid)
	r.limits = lim
	if err != nil {
		r.signal(unix.SIGKILL, "resource limits: "+err.Error())
	}
	return err == nil
}

// goAhead lets a held child go on; one that does not take it is killed.
func (r *Run) goAhead(conn net.Conn) {
	if !r.send(conn, Frame{Kind: KindGo}) {
		r.signal(unix.SIGKILL, "the child did not take the go-ahead")
	}
}

// setLimits applies the service's limits to the child pid.
func (r *Run) setLimits(pid int) (*limited, error) {
	l := r.exec.Limits
	lim := &limited{limits: l}
	fields := []zap.Field{zap.Stringer("limits", l)}
	mechanism := "rlimits"
	if l.Memory > 0 || l.Processes > 0 {
		cg, err := r.cgroups().create(r.spec.Name, l.Memory, l.Processes)
		if err == nil {
			if err = cg.attach(pid); err != nil {
				_ = cg.remove() // empty: the child never entered it
			}
		}
		if err == nil {
			lim.cgroup, mechanism = cg, "cgroup v2"
			fields = append(fields, zap.String("cgroup", cg.dir))
		} else {
			fields = append(fields, zap.String("no_cgroup", err.Error()))
		}
	}
	set := func(resource int, name string, n uint64) error {
		if err := unix.Prlimit(pid, resource, &unix.Rlimit{Cur: n, Max: n}, nil); err != nil {
			return fmt.Errorf("set %s to %d: %w", name, n, err)
		}
		return nil
	}
	var err error
	if l.Files > 0 {
		err = set(unix.RLIMIT_NOFILE, "RLIMIT_NOFILE", uint64(l.Files))
	}
	if err == nil && l.CPUTime > 0 {
		// At the soft limit the kernel sends SIGXCPU, on which the child
		// ends itself saying why (see watchCPU); at the hard limit, a
		// second later, it sends SIGKILL, which would say nothing.
		secs := uint64(l.CPUTime / time.Second)
		if err = unix.Prlimit(pid, unix.RLIMIT_CPU, &unix.Rlimit{Cur: secs, Max: secs + 1}, nil); err != nil {
			err = fmt.Errorf("set RLIMIT_CPU to %d: %w", secs, err)
		}
	}
	if err == nil && l.Memory > 0 && lim.cgroup == nil {
		var data uint64
		if data, err = memoryRlimit(pid, l.Memory); err == nil {
			err = set(unix.RLIMIT_DATA, "RLIMIT_DATA", data)
			fields = append(fields, zap.Uint64("rlimit_data", data))
		}
	}
	if err == nil && l.Processes > 0 && lim.cgroup == nil {
		err = set(unix.RLIMIT_NPROC, "RLIMIT_NPROC", uint64(l.Processes))
		if os.Geteuid() == 0 {
			r.log.Warn("the process limit does not bind this child unless it gives up root: RLIMIT_NPROC exempts root, and no cgroup holds the child")
		}
	}
	r.log.Info("resource limits", append(fields, zap.String("mechanism", mechanism))...)
	return lim, err
}

// memoryRlimit is the RLIMIT_DATA that holds the child pid to a memory
// limit.
func memoryRlimit(pid int, memory int64) (uint64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	reserved, ok := statusBytes(status, "VmData:")
	if !ok {
		return 0, fmt.Errorf("no VmData in /proc/%d/status", pid)
	}
	var stack unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &stack); err != nil || stack.Cur > 64<<20 {
		stack.Cur = 8 << 20
	}
	if raceBuild {
		memory *= raceFactor
	}
	return reserved + uint64(memory) + threadRoom*stack.Cur, nil
}

// statusBytes reads a size such as "VmData:   123456 kB" from
// /proc/<pid>/status.
func statusBytes(status []byte, key string) (uint64, bool) {
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10, err == nil
		}
	}
	return 0, false
}

func (r *Run) cgroups() *cgroups {
	if r.exec.cgroups != nil {
		return r.exec.cgroups
	}
	return systemCgroups
}

// end says in e which limit, if any, the child went over, and removes its
// cgroup. It only names a limit the child's end shows it went over: the
// kernel's count of out-of-memory kills or failed forks in its cgroup, a
// SIGKILL once it used its CPU time, or what the Go runtime or the
// service said of the failure an rlimit causes (out of memory, too many
// open files, no more processes or threads).
func (l *limited) end(e *ExitError, state *os.ProcessState, log *zap.Logger) {
	if l == nil {
		return
	}
	var resource string
	if l.cgroup != nil {
		resource = l.cgroup.overrun()
		if err := l.cgroup.remove(); err != nil {
			log.Warn("child cgroup left behind", zap.Error(err))
		}
	}
	if e == nil || e.Killed {
		return // a clean end, or one the app caused
	}
	if resource == "" {
		resource = l.overrun(e, state)
	}
	if resource == "" {
		return
	}
	e.Limit = resource
	over := "over its " + l.describe(resource)
	why := e.Reason
	if why == "" {
		why = e.Message
	}
	// A kill says nothing more: the error's status already reads
	// "signal: killed".
	e.Reason = over
	if why != "" && e.Signal != unix.SIGKILL {
		e.Reason = over + ": " + why
	}
}

// overrun finds the limit behind a child's end when rlimits held it.
func (l *limited) overrun(e *ExitError, state *os.ProcessState) string {
	said := strings.Join([]string{e.Reason, e.Message, firstLineOf(e.StderrHead)}, "\n")
	switch {
	case l.limits.CPUTime > 0 && e.Signal == unix.SIGKILL &&
		(bytes.Contains(e.Stderr, []byte(cpuLimitReached)) || cpuTime(state) >= l.limits.CPUTime):
		return "CPU time"
	case l.limits.Memory > 0 && l.cgroup == nil && outOfMemory(said, e.Stderr):
		return "memory"
	case l.limits.Files > 0 && strings.Contains(said, "too many open files") && !strings.Contains(said, "too many open files in system"):
		return "open files"
	case l.limits.Processes > 0 && l.cgroup == nil && (cannotFork(said) || noThread(e.Stderr)):
		return "processes"
	case l.limits.Memory > 0 && l.cgroup == nil && noThread(e.Stderr):
		return "memory" // no room for the thread's stack
	}
	return ""
}

func (l *limited) describe(resource string) string {
	switch resource {
	case "memory":
		return "memory limit of " + strings.TrimPrefix(lifecycle.ResourceLimits{Memory: l.limits.Memory}.String(), "memory ")
	case "open files":
		return fmt.Sprintf("open-file limit of %d", l.limits.Files)
	case "CPU time":
		return fmt.Sprintf("CPU time limit of %v", l.limits.CPUTime)
	}
	return fmt.Sprintf("process limit of %d", l.limits.Processes)
}

// outOfMemory reports what a Go runtime, or the race detector's, writes
// when the kernel refuses it memory.
func outOfMemory(said string, tail []byte) bool {
	return strings.Contains(said, "out of memory") ||
		strings.Contains(string(tail), "runtime: out of memory") ||
		strings.Contains(string(tail), "ThreadSanitizer failed to allocate")
}

// cannotFork reports what a Go program says when the kernel refuses it a
// process (fork/exec) or an OS thread (the runtime's newosproc).
func cannotFork(said string) bool {
	return strings.Contains(said, "fork/exec") && strings.Contains(said, "resource temporarily unavailable") ||
		strings.Contains(said, "newosproc") || strings.Contains(said, "failed to create new OS thread")
}

// noThread reports what a cgo program writes when pthread_create fails,
// which it does for want of a process (RLIMIT_NPROC) or of memory for the
// thread's stack (RLIMIT_DATA) alike.
func noThread(tail []byte) bool {
	return bytes.Contains(tail, []byte("pthread_create failed"))
}

func cpuTime(state *os.ProcessState) time.Duration {
	if state == nil {
		return 0
	}
	ru, ok := state.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func firstLineOf(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
