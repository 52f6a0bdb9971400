package proc

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// endSignal is the child's parent-death signal, and what the parent sends
// a child whose stop overran: either way the child ends what it started,
// then itself. It is not SIGTERM, which a child's app takes for a request
// to stop (and, during a stop, for a second one that forces an exit).
const endSignal = unix.SIGHUP

// parentPID is the PID of the parent that started this child.
var parentPID int

// guard makes this child the reaper of its orphaned descendants, so that
// everything its service starts stays below it, even what leaves its
// process group or is orphaned by its own parent.
//
// Until WatchEnd takes it, endSignal is ignored: the parent's death then
// reaches the child as the end of its control channel, which ends what it
// started too (see Serve). Ignoring a signal costs no thread, unlike taking
// it; a process the service starts before WatchEnd inherits the ignored
// endSignal, as from nohup.
func guard() {
	parentPID = os.Getppid()
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	signal.Ignore(endSignal)
}

// WatchEnd ends all this child started, and then the child, when
// endSignal comes. It is called once the service has started, not when the
// child starts: taking a signal costs a young process an OS thread, which
// would delay every spawn.
//
// It also takes SIGPIPE: the child's stderr is a pipe to its parent, so a
// write there fails once the parent is gone, and the default SIGPIPE
// would kill the child before it could end its descendants. A write that
// fails while the parent lives just fails, as on any other descriptor.
func (c *Child) WatchEnd() {
	c.watchOnce.Do(func() { watchEnd(c.Service) })
}

func watchEnd(service string) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, endSignal, unix.SIGPIPE)
	go func() {
		for sig := range sigs {
			if sig == unix.SIGPIPE && parentAlive() {
				continue
			}
			// Descendants first: a write to stderr may block on a parent
			// that is dying, which getppid may not show yet, since the
			// parent-death signal comes when the parent's thread ends.
			killDescendants()
			if parentAlive() {
				// Most likely the parent ends us, its stop timeout passed:
				// show where the stop is stuck, for the parent's report.
				fmt.Fprintf(os.Stderr, "hostfx child %q: told to end at once (%v): ending all it started; its goroutines:\n", service, endSignal)
				_, _ = os.Stderr.Write(goroutines())
			}
			endAll()
		}
	}()
}

// goroutines is the stack of every goroutine, as a panic prints them.
// runtime.Stack says the same as runtime/pprof's goroutine profile at
// debug level 2, without linking the profiler.
func goroutines() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// parentAlive reports whether the parent that started this child still
// lives: once it is gone the child is re-parented.
func parentAlive() bool { return os.Getppid() == parentPID }

// say writes a line to stderr while the parent lives to read it.
func say(format string, args ...any) {
	if parentAlive() {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

// endAll kills every descendant of this child, then the child's process
// group, the child included. It does not return.
func endAll() {
	killDescendants()
	_ = unix.Kill(0, unix.SIGKILL) // the child leads its group (Setpgid)
	os.Exit(2)                     // not reached
}

// killDescendants kills every live descendant of this child.
func killDescendants() {
	if !hasChildren() {
		return // most services start nothing: no need to read all of /proc
	}
	self := os.Getpid()
	killed := map[int]bool{}
	// A descendant may fork while we look: its new child is re-parented to
	// us as its parent dies, and the next look finds it.
	for range 3 {
		found := false
		for _, pid := range descendants(self) {
			if !killed[pid] {
				_ = unix.Kill(pid, unix.SIGKILL)
				killed[pid], found = true, true
			}
		}
		if !found {
			break
		}
	}
}

// hasChildren reports whether this process may have a child, by the
// children lists of its threads, which name every child, orphans it has
// taken in as a subreaper included. It says true when it cannot tell.
func hasChildren() bool {
	tasks, err := readDir("/proc/self/task")
	if err != nil {
		return true
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil || len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}

// descendants lists the live processes below root, read from /proc.
func descendants(root int) []int {
	entries, err := readDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, live := parentOf(pid); live {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		next := children[queue[0]]
		queue = append(queue[1:], next...)
		out = append(out, next...)
	}
	return out
}

// parentOf reads the parent of pid, and whether pid is alive (not a
// zombie), from /proc/pid/stat.
func parentOf(pid int) (ppid int, live bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold anything: read after it.
	rest := string(stat)
	rest = rest[strings.LastIndexByte(rest, ')')+1:]
	fields := strings.Fields(rest) // state, ppid, ...
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return ppid, err == nil && fields[0] != "Z" && fields[0] != "X"
}

// Exit ends this child with code, and everything it started first: a
// service's processes end with the run of the service that started them,
// whether it ends by itself, fails or is stopped.
func (c *Child) Exit(code int) {
	killDescendants()
	os.Exit(code)
}
