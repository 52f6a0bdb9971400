package proc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

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
	var ee *ExitError
	if !errors.As(r.err, &ee) {
		ee = nil
	}
	r.limits.end(ee, cmd.ProcessState, r.log)
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
	cmd.Env = append(cmd.Env, limitEnv(r.exec.Limits)...)
	if r.held && r.exec.Limits.IsZero() {
		cmd.Env = append(cmd.Env, envLimited+"=1")
	}
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
