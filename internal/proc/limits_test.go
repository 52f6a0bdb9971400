package proc

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
)

func TestChildInItsCgroupKilledForMemory(t *testing.T) {
	g, f := newFakeCgroups(t, "/app", "memory pids", strconv.Itoa(os.Getpid()))
	core, logs := observer.New(zapcore.InfoLevel)
	e := Executor{Log: zap.New(core), Args: []string{"-test.run=^$"}, App: "proc.test", cgroups: g,
		Limits: lifecycle.ResourceLimits{Memory: 64 << 20, Files: 256, Processes: 64}}
	r := e.Launch(executor.Spec{Name: "spawner", StopTimeout: time.Second}).(*Run)
	<-r.Ready()
	pid := r.PID()

	const dir = "app/hostfx.spawner.1"
	assert.Equal(t, strconv.Itoa(pid), f.get(dir+"/cgroup.procs"), "the child is in its cgroup")
	assert.Equal(t, "67108864", f.get(dir+"/memory.max"))
	assert.Equal(t, "64", f.get(dir+"/pids.max"))
	var files, data unix.Rlimit
	require.NoError(t, unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &files))
	assert.Equal(t, unix.Rlimit{Cur: 256, Max: 256}, files, "open files are an rlimit in any case")
	require.NoError(t, unix.Prlimit(pid, unix.RLIMIT_DATA, nil, &data))
	assert.Equal(t, uint64(unix.RLIM_INFINITY), data.Cur, "the cgroup holds memory, not an rlimit")
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(environ), "\x00"), "GOMEMLIMIT="+strconv.Itoa(64<<20/10*9))
	said := logs.FilterMessage("resource limits").All()
	require.Len(t, said, 1)
	assert.Equal(t, "cgroup v2", said[0].ContextMap()["mechanism"])

	// The kernel's out-of-memory kill, as the fake tree stands for it.
	f.put(dir+"/memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
	require.NoError(t, unix.Kill(-pid, unix.SIGKILL))
	var ee *ExitError
	require.ErrorAs(t, r.Wait(), &ee)
	assert.Equal(t, "memory", ee.Limit)
	assert.Equal(t, "over its memory limit of 64 MiB", ee.Reason)
	assert.EqualError(t, ee, "child "+strconv.Itoa(pid)+" signal: killed: over its memory limit of 64 MiB")
	assert.Equal(t, []string{"app"}, f.tree(), "the child's cgroup and the app's leaf are gone")
}

func TestChildWithRlimits(t *testing.T) {
	g, _ := newFakeCgroups(t, "/app", "memory", strconv.Itoa(os.Getpid())) // no pids controller: rlimits
	core, logs := observer.New(zapcore.InfoLevel)
	e := Executor{Log: zap.New(core), Args: []string{"-test.run=^$"}, App: "proc.test", cgroups: g,
		Limits: lifecycle.ResourceLimits{Memory: 64 << 20, CPUTime: 30 * time.Second, Processes: 5000}}
	r := e.Launch(executor.Spec{Name: "spawner", StopTimeout: time.Second}).(*Run)
	<-r.Ready()
	pid := r.PID()
	get := func(resource int) unix.Rlimit {
		var l unix.Rlimit
		require.NoError(t, unix.Prlimit(pid, resource, nil, &l))
		return l
	}
	assert.Equal(t, unix.Rlimit{Cur: 30, Max: 31}, get(unix.RLIMIT_CPU), "SIGXCPU first, then SIGKILL")
	assert.Equal(t, unix.Rlimit{Cur: 5000, Max: 5000}, get(unix.RLIMIT_NPROC))
	data := get(unix.RLIMIT_DATA)
	assert.Greater(t, data.Cur, uint64(64<<20), "the limit comes on top of what the child reserved")
	said := logs.FilterMessage("resource limits").All()
	require.Len(t, said, 1)
	fields := said[0].ContextMap()
	assert.Equal(t, "rlimits", fields["mechanism"])
	assert.Contains(t, fields["no_cgroup"], "the pids controller is not delegated")
	assert.EqualValues(t, data.Cur, fields["rlimit_data"])
	r.Stop()
	require.NoError(t, r.Wait())
}

func TestLimitOverrun(t *testing.T) {
	all := lifecycle.ResourceLimits{Memory: 64 << 20, Files: 64, CPUTime: 2 * time.Second, Processes: 16}
	tests := []struct {
		name string
		give ExitError
		want string // Limit
		why  string // Reason
	}{
		{"runtime out of memory", ExitError{ExitCode: 2, Message: "fatal error: runtime: out of memory", StderrHead: []byte("fatal error: runtime: out of memory\n")},
			"memory", "over its memory limit of 64 MiB: fatal error: runtime: out of memory"},
		{"race detector out of memory", ExitError{ExitCode: 66, Message: "==1==ERROR: ThreadSanitizer failed to allocate 0x1ff000", Stderr: []byte("==1==ERROR: ThreadSanitizer failed to allocate 0x1ff000")},
			"memory", "over its memory limit of 64 MiB: ==1==ERROR: ThreadSanitizer failed to allocate 0x1ff000"},
		{"EMFILE", ExitError{ExitCode: 1, Reason: "open x: too many open files"},
			"open files", "over its open-file limit of 64: open x: too many open files"},
		{"ENFILE is the system's", ExitError{ExitCode: 1, Reason: "open x: too many open files in system"}, "", "open x: too many open files in system"},
		{"fork", ExitError{ExitCode: 1, Reason: "fork/exec /bin/true: resource temporarily unavailable"},
			"processes", "over its process limit of 16: fork/exec /bin/true: resource temporarily unavailable"},
		{"thread", ExitError{ExitCode: 2, Message: "fatal error: newosproc"}, "processes", "over its process limit of 16: fatal error: newosproc"},
		{"EAGAIN elsewhere", ExitError{ExitCode: 1, Reason: "read: resource temporarily unavailable"}, "", "read: resource temporarily unavailable"},
		{"CPU time", ExitError{ExitCode: -1, Signal: syscall.SIGKILL, Stderr: []byte(`hostfx child "x": ` + cpuLimitReached + ": ending")},
			"CPU time", "over its CPU time limit of 2s"},
		{"killed by someone", ExitError{ExitCode: -1, Signal: syscall.SIGKILL}, "", ""},
		{"killed by the app", ExitError{ExitCode: -1, Signal: syscall.SIGKILL, Killed: true, Reason: "hung", Message: "out of memory"}, "", "hung"},
		{"a plain failure", ExitError{ExitCode: 1, Reason: "no database"}, "", "no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.give
			(&limited{limits: all}).end(&e, nil, zap.NewNop())
			assert.Equal(t, tt.want, e.Limit)
			assert.Equal(t, tt.why, e.Reason)
		})
	}
}

func TestLimitEnv(t *testing.T) {
	assert.Nil(t, limitEnv(lifecycle.ResourceLimits{}))
	assert.Equal(t, []string{envLimited + "=1"}, limitEnv(lifecycle.ResourceLimits{Files: 10}))
	assert.Equal(t, []string{envLimited + "=1", "GOMEMLIMIT=90596961"}, limitEnv(lifecycle.ResourceLimits{Memory: 96 << 20}))
}

func TestStatusBytes(t *testing.T) {
	n, ok := statusBytes([]byte("Name:\tx\nVmData:\t  123456 kB\nVmStk: 1 kB\n"), "VmData:")
	assert.True(t, ok)
	assert.Equal(t, uint64(123456<<10), n)
	_, ok = statusBytes([]byte("Name:\tx\n"), "VmData:")
	assert.False(t, ok)
}

func TestNothingBeforeTheGoAhead(t *testing.T) {
	// Heartbeats due long before the child says hello, and a stop before it
	// does: the child reads only its go-ahead first, and stops in order.
	e := Executor{Log: zap.NewNop(), Args: []string{"-test.run=^$"}, App: "proc.test", Heartbeat: time.Millisecond,
		Limits: lifecycle.ResourceLimits{Files: 256}}
	r := e.Launch(executor.Spec{Name: "spawner", StopTimeout: time.Minute})
	r.Stop()
	assert.NoError(t, r.Wait())
}
