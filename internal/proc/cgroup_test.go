package proc

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fakeCgroupFS is a cgroup v2 tree in a temporary directory that behaves
// as the kernel's where hostfx relies on it: a new cgroup has its interface
// files, a PID written to cgroup.procs moves there, a cgroup with
// processes can enable no controllers for its children, cgroup.kill
// empties a cgroup, and only an empty cgroup can be removed.
type fakeCgroupFS struct {
	t    *testing.T
	root string
}

func newFakeCgroups(t *testing.T, appCgroup, controllers, procs string) (*cgroups, *fakeCgroupFS) {
	root := t.TempDir()
	f := &fakeCgroupFS{t: t, root: root}
	f.put("cgroup.controllers", "cpu memory pids io")
	f.put("self.cgroup", "0::"+appCgroup+"\n")
	dir := strings.TrimPrefix(appCgroup, "/")
	require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
	f.put(filepath.Join(dir, "cgroup.controllers"), controllers)
	f.put(filepath.Join(dir, "cgroup.subtree_control"), "")
	f.put(filepath.Join(dir, "cgroup.procs"), procs)
	return &cgroups{fs: f, root: root, self: filepath.Join(root, "self.cgroup"), pid: os.Getpid()}, f
}

func (f *fakeCgroupFS) put(name, content string) {
	require.NoError(f.t, os.WriteFile(filepath.Join(f.root, name), []byte(content), 0o644))
}

// get reads a file of the tree, by its path below the root.
func (f *fakeCgroupFS) get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.root, name))
	require.NoError(f.t, err)
	return strings.TrimSpace(string(b))
}

// tree lists the tree's directories, below the root.
func (f *fakeCgroupFS) tree() []string {
	var dirs []string
	_ = filepath.WalkDir(f.root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && path != f.root {
			rel, _ := filepath.Rel(f.root, path)
			dirs = append(dirs, rel)
		}
		return err
	})
	return dirs
}

func (f *fakeCgroupFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (f *fakeCgroupFS) WriteFile(name string, data []byte) error {
	if _, err := os.Stat(name); err != nil {
		return err // the kernel's files exist or cannot be written
	}
	dir, file := filepath.Split(name)
	switch file {
	case "cgroup.procs":
		// A process is in one cgroup: it leaves the one it was in.
		_ = filepath.WalkDir(f.root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "cgroup.procs" {
				b, _ := os.ReadFile(path)
				pids := slices.DeleteFunc(strings.Fields(string(b)), func(p string) bool { return p == string(data) })
				_ = os.WriteFile(path, []byte(strings.Join(pids, "\n")), 0o644)
			}
			return err
		})
		b, _ := os.ReadFile(name)
		return os.WriteFile(name, []byte(strings.TrimSpace(string(b)+"\n"+string(data))), 0o644)
	case "cgroup.subtree_control":
		enabled := strings.Fields(f.read(name))
		for _, c := range strings.Fields(string(data)) {
			if strings.HasPrefix(c, "+") && f.read(filepath.Join(dir, "cgroup.procs")) != "" {
				return &fs.PathError{Op: "write", Path: name, Err: unix.EBUSY}
			}
			enabled = slices.DeleteFunc(enabled, func(e string) bool { return e == c[1:] })
			if strings.HasPrefix(c, "+") {
				enabled = append(enabled, c[1:])
			}
		}
		return os.WriteFile(name, []byte(strings.Join(enabled, " ")), 0o644)
	case "cgroup.kill":
		return os.WriteFile(filepath.Join(dir, "cgroup.procs"), nil, 0o644)
	}
	return os.WriteFile(name, data, 0o644)
}

func (f *fakeCgroupFS) read(name string) string {
	b, _ := os.ReadFile(name)
	return strings.TrimSpace(string(b))
}

func (f *fakeCgroupFS) Mkdir(name string) error {
	if err := os.Mkdir(name, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"cgroup.controllers": f.read(filepath.Join(filepath.Dir(name), "cgroup.subtree_control")),
		"cgroup.procs":       "", "cgroup.subtree_control": "", "cgroup.kill": "",
		"memory.max": "max", "memory.swap.max": "max", "memory.oom.group": "0",
		"memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", "pids.max": "max", "pids.events": "max 0\n",
	}
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(name, file), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeCgroupFS) Remove(name string) error {
	if f.read(filepath.Join(name, "cgroup.procs")) != "" {
		return &fs.PathError{Op: "remove", Path: name, Err: unix.EBUSY}
	}
	entries, err := os.ReadDir(name)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			return &fs.PathError{Op: "remove", Path: name, Err: unix.ENOTEMPTY}
		}
	}
	return os.RemoveAll(name)
}

func TestCgroupsForChildrenAndNothingLeftBehind(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	g, f := newFakeCgroups(t, "/app.slice/app.service", "cpu memory pids", self)
	before := f.tree()

	a, err := g.create("worker#2", 64<<20, 32)
	require.NoError(t, err)
	assert.Equal(t, self, f.get("app.slice/app.service/hostfx.app/cgroup.procs"), "the app moved into a leaf")
	assert.Empty(t, f.get("app.slice/app.service/cgroup.procs"))
	assert.Equal(t, "memory pids", f.get("app.slice/app.service/cgroup.subtree_control"))
	assert.Equal(t, filepath.Join(f.root, "app.slice/app.service/hostfx.worker#2.1"), a.dir)
	assert.Equal(t, "67108864", f.get("app.slice/app.service/hostfx.worker#2.1/memory.max"))
	assert.Equal(t, "32", f.get("app.slice/app.service/hostfx.worker#2.1/pids.max"))
	assert.Equal(t, "0", f.get("app.slice/app.service/hostfx.worker#2.1/memory.swap.max"))
	assert.Equal(t, "1", f.get("app.slice/app.service/hostfx.worker#2.1/memory.oom.group"))
	require.NoError(t, a.attach(4242))
	assert.Equal(t, "4242", f.get("app.slice/app.service/hostfx.worker#2.1/cgroup.procs"))

	b, err := g.create("files", 0, 8)
	require.NoError(t, err)
	assert.Equal(t, "max", f.get("app.slice/app.service/hostfx.files.2/memory.max"), "no memory limit set")
	require.NoError(t, b.attach(4343))

	assert.Empty(t, a.overrun())
	f.put("app.slice/app.service/hostfx.worker#2.1/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
	assert.Equal(t, "memory", a.overrun())
	f.put("app.slice/app.service/hostfx.files.2/pids.events", "max 3\n")
	assert.Equal(t, "processes", b.overrun())

	require.NoError(t, a.remove())
	assert.NoDirExists(t, a.dir)
	assert.DirExists(t, filepath.Join(f.root, "app.slice/app.service/hostfx.app"), "a child still has a cgroup")
	require.NoError(t, b.remove(), "what was left in it was killed")
	assert.Equal(t, before, f.tree(), "no cgroup is left behind")
	assert.Equal(t, self, f.get("app.slice/app.service/cgroup.procs"), "the app is back where it was")
	assert.Empty(t, f.get("app.slice/app.service/cgroup.subtree_control"))

	_, err = g.create("again", 64<<20, 0)
	require.NoError(t, err, "set up again after the last child")
}

func TestCgroupsReadyWithoutMovingTheApp(t *testing.T) {
	g, f := newFakeCgroups(t, "/", "memory pids", "1 2 3")
	f.put("cgroup.subtree_control", "memory pids")
	c, err := g.create("svc", 64<<20, 0)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(f.root, "hostfx.svc.1"), c.dir)
	assert.NoDirExists(t, filepath.Join(f.root, leafName))
	require.NoError(t, c.remove())
	assert.Empty(t, f.tree())
}

func TestCgroupsUnavailable(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name  string
		setup func(*fakeCgroupFS)
		give  [2]string // the app's controllers and processes
		want  string
	}{
		{"v1 or hybrid", func(f *fakeCgroupFS) { require.NoError(t, os.Remove(filepath.Join(f.root, "cgroup.controllers"))) },
			[2]string{"memory pids", self}, "no cgroup v2 hierarchy at"},
		{"not delegated", nil, [2]string{"memory", self}, "the pids controller is not delegated to the app's cgroup"},
		{"shared", nil, [2]string{"memory pids", self + "\n77"}, "holds other processes than the app"},
		{"v1 only", func(f *fakeCgroupFS) { f.put("self.cgroup", "4:memory:/x\n") }, [2]string{"memory pids", self}, "the app is in no cgroup v2 cgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, f := newFakeCgroups(t, "/app", tt.give[0], tt.give[1])
			if tt.setup != nil {
				tt.setup(f)
			}
			before := f.tree()
			_, err := g.create("svc", 64<<20, 0)
			assert.ErrorContains(t, err, tt.want)
			assert.Equal(t, before, f.tree())
		})
	}
}

func TestCgroupsUndoAFailedSetUp(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	g, f := newFakeCgroups(t, "/app", "memory pids", self)
	// The controllers cannot be enabled, as when the cgroup is not ours.
	g.fs = failingWrites{f, "cgroup.subtree_control"}
	_, err := g.create("svc", 64<<20, 0)
	assert.ErrorContains(t, err, "enable +memory +pids for the children of")
	assert.Equal(t, []string{"app"}, f.tree(), "the leaf is gone")
	assert.Equal(t, self, f.get("app/cgroup.procs"), "the app is back")
}

// failingWrites fails every write to a file of the given name.
type failingWrites struct {
	*fakeCgroupFS
	file string
}

func (w failingWrites) WriteFile(name string, data []byte) error {
	if filepath.Base(name) == w.file && strings.HasPrefix(string(data), "+") {
		return &fs.PathError{Op: "write", Path: name, Err: unix.EACCES}
	}
	return w.fakeCgroupFS.WriteFile(name, data)
}

func TestCgroupFiles(t *testing.T) {
	assert.Equal(t, int64(3), counter([]byte("low 0\noom 2\noom_kill 3\n"), "oom_kill"))
	assert.Equal(t, int64(0), counter([]byte("low 0\n"), "oom_kill"))
	p, ok := unifiedPath([]byte("12:pids:/a\n0::/user.slice/x.scope\n"))
	assert.True(t, ok)
	assert.Equal(t, "/user.slice/x.scope", p)
	assert.Equal(t, "a_b#2", cgroupSafe("a/b#2"))
}
