package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// ResourceLimits bound what the child process of a process-mode service
// may use. A zero field sets no limit of that kind. Going over a limit ends
// the child, or makes what needed more fail in it; the error of the run
// says which limit (see ChildExitError.Limit) and the restart policy
// applies.
//
// The app uses a cgroup of the child's own (cgroup v2, memory.max and
// pids.max) when its own cgroup is delegated to it, and resource limits of
// the child process (setrlimit) otherwise; docs/execution-modes.md says
// what each bounds exactly. Open files and CPU time are always rlimits.
type ResourceLimits struct {
	// Memory is the most memory, in bytes, the child may use. The child's
	// Go runtime gets GOMEMLIMIT at 90% of it, so its collector works
	// harder before the limit is reached; a program that sets its own
	// memory limit (debug.SetMemoryLimit) keeps its own.
	Memory int64
	// Files is the most files, sockets and pipes the child may have open
	// at once (RLIMIT_NOFILE).
	Files int
	// CPUTime is the most CPU time, in whole seconds, the child may use in
	// its life (RLIMIT_CPU); past it the kernel kills it.
	CPUTime time.Duration
	// Processes is the most processes and threads the child may have:
	// those in its cgroup, or with rlimits all of its user's (see
	// docs/execution-modes.md).
	Processes int
}

// IsZero reports whether l sets no limit.
func (l ResourceLimits) IsZero() bool { return l == ResourceLimits{} }

// Validate reports a limit no child can run with.
func (l ResourceLimits) Validate() error {
	switch {
	case l.Memory < 0:
		return fmt.Errorf("memory limit %d: want a positive number of bytes, or 0 for none", l.Memory)
	case l.Memory > 0 && l.Memory < MinMemoryLimit:
		return fmt.Errorf("memory limit %s: want at least %s, which a Go child needs to start", bytesText(l.Memory), bytesText(MinMemoryLimit))
	case l.Files < 0:
		return fmt.Errorf("open-file limit %d: want a positive number, or 0 for none", l.Files)
	case l.CPUTime < 0 || l.CPUTime%time.Second != 0:
		return fmt.Errorf("CPU time limit %v: want whole seconds, which is what the kernel counts, or 0 for none", l.CPUTime)
	case l.Processes < 0:
		return fmt.Errorf("process limit %d: want a positive number, or 0 for none", l.Processes)
	}
	return nil
}

// MinMemoryLimit is the smallest memory limit a service may have.
const MinMemoryLimit = 16 << 20

func (l ResourceLimits) String() string {
	var parts []string
	if l.Memory > 0 {
		parts = append(parts, "memory "+bytesText(l.Memory))
	}
	if l.Files > 0 {
		parts = append(parts, fmt.Sprintf("open files %d", l.Files))
	}
	if l.CPUTime > 0 {
		parts = append(parts, fmt.Sprintf("CPU time %v", l.CPUTime))
	}
	if l.Processes > 0 {
		parts = append(parts, fmt.Sprintf("processes %d", l.Processes))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// bytesText writes n bytes as people read them: "64 MiB", "1536 KiB", or
// a plain number of bytes when no binary unit divides it.
func bytesText(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Limits sets resource limits on the service's child process; only the
// process modes take it, and app.New rejects it for any other. Each
// non-zero field of l replaces the limit of its kind, so configuration can
// change one limit and keep the rest of what the code set.
func Limits(l ResourceLimits) Option { return limitsOption(l) }

type limitsOption ResourceLimits

func (o limitsOption) apply(s *Settings) {
	l := ResourceLimits(o)
	if l.Memory != 0 {
		s.Limits.Memory = l.Memory
	}
	if l.Files != 0 {
		s.Limits.Files = l.Files
	}
	if l.CPUTime != 0 {
		s.Limits.CPUTime = l.CPUTime
	}
	if l.Processes != 0 {
		s.Limits.Processes = l.Processes
	}
}

func (o limitsOption) String() string {
	return fmt.Sprintf("lifecycle.Limits(%v)", ResourceLimits(o))
}
