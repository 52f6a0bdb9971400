package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupFS is what the cgroup code does to the cgroup file system: the
// kernel's, or a tree in a temporary directory standing for it in tests.
type cgroupFS interface {
	ReadFile(name string) ([]byte, error)
	// WriteFile writes data to an existing file in one write, as the
	// kernel wants it.
	WriteFile(name string, data []byte) error
	Mkdir(name string) error
	// Remove removes an empty cgroup.
	Remove(name string) error
}

type osFS struct{}

func (osFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }
func (osFS) Mkdir(name string) error              { return os.Mkdir(name, 0o755) }
func (osFS) Remove(name string) error             { return os.Remove(name) }

func (osFS) WriteFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// The controllers a child's cgroup needs: memory.max and pids.max.
var cgroupControllers = []string{"memory", "pids"}

// cgroups gives children cgroups of their own below the app's cgroup, when
// that is delegated to the app: the app's process moves into a leaf of its
// cgroup (a cgroup with processes may not have controllers for its
// children), enables the memory and pids controllers for its children, and
// undoes both when its last limited child has ended, so it leaves no
// cgroup behind.
type cgroups struct {
	fs   cgroupFS
	root string // where the cgroup v2 hierarchy is mounted
	self string // the file that lists this process's cgroups
	pid  int    // this process

	mu    sync.Mutex
	dir   string // the app's cgroup while children have cgroups in it
	leaf  string // where this process moved, or "" if it did not
	users int    // children with a cgroup
	seq   int
}

// systemCgroups is this process's: the cgroup is the process's, whichever
// app spawns the child.
var systemCgroups = &cgroups{fs: osFS{}, root: "/sys/fs/cgroup", self: "/proc/self/cgroup", pid: os.Getpid()}

// cgroup is the cgroup of one child.
type cgroup struct {
	g   *cgroups
	dir string
}

// leafName names the leaf the app's process moves into.
const leafName = "hostfx.app"

// create makes a cgroup for a child of service with limits of memory
// bytes and procs processes (0 for none), or says why it cannot.
func (g *cgroups) create(service string, memory int64, procs int) (*cgroup, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.users == 0 {
		if err := g.setUp(); err != nil {
			return nil, err
		}
	}
	g.seq++
	dir := filepath.Join(g.dir, fmt.Sprintf("hostfx.%s.%d", cgroupSafe(service), g.seq))
	if err := g.fs.Mkdir(dir); err != nil {
		g.tearDownIfUnused()
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	set := func(file, value string) error {
		if err := g.fs.WriteFile(filepath.Join(dir, file), []byte(value)); err != nil {
			return fmt.Errorf("write %s to %s: %w", value, filepath.Join(dir, file), err)
		}
		return nil
	}
	var err error
	if memory > 0 {
		err = set("memory.max", strconv.FormatInt(memory, 10))
		// Best effort, as not every kernel has them: no swapping past the
		// limit, and an out-of-memory kill takes the whole child, not one
		// of its processes.
		_ = set("memory.swap.max", "0")
		_ = set("memory.oom.group", "1")
	}
	if err == nil && procs > 0 {
		err = set("pids.max", strconv.Itoa(procs))
	}
	if err != nil {
		_ = g.fs.Remove(dir) // empty: nothing was moved in yet
		g.tearDownIfUnused()
		return nil, err
	}
	g.users++
	return &cgroup{g: g, dir: dir}, nil
}

// setUp finds the app's cgroup and readies it for children.
func (g *cgroups) setUp() error {
	if _, err := g.fs.ReadFile(filepath.Join(g.root, "cgroup.controllers")); err != nil {
		return fmt.Errorf("no cgroup v2 hierarchy at %s (%w)", g.root, err)
	}
	self, err := g.fs.ReadFile(g.self)
	if err != nil {
		return fmt.Errorf("find the app's cgroup: %w", err)
	}
	path, ok := unifiedPath(self)
	if !ok {
		return errors.New("the app is in no cgroup v2 cgroup")
	}
	dir := filepath.Join(g.root, path)
	available, err := g.fs.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read the app's cgroup %s: %w", dir, err)
	}
	for _, c := range cgroupControllers {
		if !hasWord(available, c) {
			return fmt.Errorf("the %s controller is not delegated to the app's cgroup %s", c, dir)
		}
	}
	enabled, err := g.fs.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(dir, "cgroup.subtree_control"), err)
	}
	g.dir, g.leaf = dir, ""
	if hasWords(enabled, cgroupControllers) {
		return nil // ready as it is
	}
	procs, err := g.fs.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(dir, "cgroup.procs"), err)
	}
	if strings.Join(strings.Fields(string(procs)), " ") != strconv.Itoa(g.pid) {
		return fmt.Errorf("the app's cgroup %s holds other processes than the app, so it cannot have cgroups below it", dir)
	}
	leaf := filepath.Join(dir, leafName)
	if err := g.fs.Mkdir(leaf); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("the app's cgroup %s is not writable: %w", dir, err)
	}
	if err := g.fs.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(g.pid))); err != nil {
		_ = g.fs.Remove(leaf)
		return fmt.Errorf("move the app into %s: %w", leaf, err)
	}
	g.leaf = leaf
	if err := g.fs.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(controlLine("+"))); err != nil {
		g.tearDown()
		return fmt.Errorf("enable %s for the children of %s: %w", controlLine("+"), dir, err)
	}
	return nil
}

// tearDownIfUnused undoes setUp when no child has a cgroup.
func (g *cgroups) tearDownIfUnused() {
	if g.users == 0 {
		g.tearDown()
	}
}

// tearDown moves the app's processes back from the leaf, and removes it.
// Children spawned without limits meanwhile are in the leaf too.
func (g *cgroups) tearDown() {
	if g.leaf == "" {
		return
	}
	_ = g.fs.WriteFile(filepath.Join(g.dir, "cgroup.subtree_control"), []byte(controlLine("-")))
	procs, _ := g.fs.ReadFile(filepath.Join(g.leaf, "cgroup.procs"))
	for _, pid := range strings.Fields(string(procs)) {
		_ = g.fs.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(pid)) // one that ended meanwhile is gone anyway
	}
	_ = g.fs.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(g.pid)))
	_ = g.fs.Remove(g.leaf) // fails only if a process forked into it meanwhile: then it is not empty
	g.leaf = ""
}

// attach moves the child pid into the cgroup.
func (c *cgroup) attach(pid int) error {
	return c.g.fs.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)))
}

// overrun reads which limit the cgroup enforced: "memory" when the kernel
// killed a process in it for memory, "processes" when a fork failed at
// pids.max, or "".
func (c *cgroup) overrun() string {
	if events, err := c.g.fs.ReadFile(filepath.Join(c.dir, "memory.events")); err == nil && counter(events, "oom_kill") > 0 {
		return "memory"
	}
	if events, err := c.g.fs.ReadFile(filepath.Join(c.dir, "pids.events")); err == nil && counter(events, "max") > 0 {
		return "processes"
	}
	return ""
}

// remove kills what is left in the cgroup and removes it; the last one
// removed undoes what the first one set up.
func (c *cgroup) remove() error {
	// The child is gone; whatever it started and escaped its process group
	// is not (cgroup.kill is Linux 5.14 or later).
	_ = c.g.fs.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"))
	err := c.g.fs.Remove(c.dir)
	// Killed processes leave the cgroup a moment after they die.
	for deadline := time.Now().Add(time.Second); errors.Is(err, unix.EBUSY) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		err = c.g.fs.Remove(c.dir)
	}
	c.g.mu.Lock()
	c.g.users--
	c.g.tearDownIfUnused()
	c.g.mu.Unlock()
	if err != nil {
		return fmt.Errorf("remove the child's cgroup %s: %w", c.dir, err)
	}
	return nil
}

// unifiedPath finds the cgroup v2 path in /proc/<pid>/cgroup: the "0::"
// line.
func unifiedPath(b []byte) (string, bool) {
	for line := range strings.Lines(string(b)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok && strings.HasPrefix(path, "/") {
			return path, true
		}
	}
	return "", false
}

// counter reads the value of key in a flat-keyed file such as
// memory.events ("oom_kill 1").
func counter(b []byte, key string) int64 {
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func hasWord(b []byte, w string) bool {
	for _, f := range bytes.Fields(b) {
		if string(f) == w {
			return true
		}
	}
	return false
}

func hasWords(b []byte, ws []string) bool {
	for _, w := range ws {
		if !hasWord(b, w) {
			return false
		}
	}
	return true
}

// controlLine is what enables (op "+") or disables ("-") the controllers
// in cgroup.subtree_control.
func controlLine(op string) string {
	return op + strings.Join(cgroupControllers, " "+op)
}

// cgroupSafe makes a service's name fit a directory's: replicas are named
// worker#2, and a name may hold a slash.
func cgroupSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\n' || r == ' ' {
			return '_'
		}
		return r
	}, name)
}
