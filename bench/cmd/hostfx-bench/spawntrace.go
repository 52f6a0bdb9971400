package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/lifecycle"
)

// spawnTraceEnv names a file that children append the times of their
// milestones to, so a spawn's time can be split between parent and child.
const spawnTraceEnv = "HOSTFX_BENCH_SPAWN_TRACE"

// childTrace records a child's milestones, when the parent asked for them.
type childTrace struct {
	path                           string
	main, built, starting, started time.Time
}

func newChildTrace() *childTrace {
	return &childTrace{path: os.Getenv(spawnTraceEnv), main: time.Now()}
}

// option observes the service's start in a hostfx child.
func (t *childTrace) option() fx.Option {
	if t.path == "" {
		return fx.Options()
	}
	return app.Observe(func(e lifecycle.Event) {
		switch e := e.(type) {
		case *lifecycle.Starting:
			if t.starting.IsZero() {
				t.starting = time.Now()
			}
		case *lifecycle.Started:
			if e.Err == nil && t.started.IsZero() {
				t.started = time.Now()
				t.write("hostfx", t.main, t.built, t.starting, t.started, time.Unix(0, int64(cpuTime())))
			}
		}
	})
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (t *childTrace) write(kind string, times ...time.Time) {
	if t.path == "" {
		return
	}
	line := kind
	for _, x := range times {
		line += fmt.Sprintf(" %d", x.UnixNano())
	}
	f, err := os.OpenFile(t.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = fmt.Fprintln(f, line)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		// The parent finds the line missing and says so; this says why.
		fmt.Fprintln(os.Stderr, "spawn trace:", err)
	}
}

// readTrace returns the children's lines of kind, oldest first.
func readTrace(path, kind string) ([][]time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]time.Time
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != kind {
			continue
		}
		var ts []time.Time
		for _, x := range fields[1:] {
			var ns int64
			if _, err := fmt.Sscan(x, &ns); err != nil {
				return nil, err
			}
			ts = append(ts, time.Unix(0, ns))
		}
		out = append(out, ts)
	}
	return out, nil
}

// spawnBreakdown splits the spawn-to-ready time of hostfx and of the raw
// baseline into its steps, over n spawns of each.
func spawnBreakdown(n int) (string, error) {
	dir, err := os.MkdirTemp("", "hostfx-bench-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "trace")
	_ = os.Setenv(spawnTraceEnv, path)
	defer func() { _ = os.Unsetenv(spawnTraceEnv) }()

	type mark struct{ begin, built, ready time.Time }
	var hostfx, raw []mark
	for range n {
		var m mark
		m.begin = time.Now()
		a := app.New(quiet(), spawnApp())
		m.built = time.Now()
		if err := a.Start(context.Background()); err != nil {
			return "", err
		}
		m.ready = time.Now()
		if err := a.Stop(context.Background()); err != nil {
			return "", err
		}
		hostfx = append(hostfx, m)

		m = mark{begin: time.Now()}
		c, err := spawnRaw(roleRawReady)
		if err != nil {
			return "", err
		}
		m.ready = time.Now()
		if err := c.stop(); err != nil {
			return "", err
		}
		raw = append(raw, m)
	}
	hc, err := readTrace(path, "hostfx")
	if err != nil {
		return "", err
	}
	rc, err := readTrace(path, "raw")
	if err != nil {
		return "", err
	}
	if len(hc) != n || len(rc) != n {
		return "", fmt.Errorf("spawn trace: %d hostfx and %d raw lines for %d spawns", len(hc), len(rc), n)
	}
	var newApp, toMain, childNew, childRun, childStart, toParent, total, childCPU, rawToMain, rawToParent, rawTotal []time.Duration
	for i := range n {
		h, c := hostfx[i], hc[i] // c: main, built, starting, started
		newApp = append(newApp, h.built.Sub(h.begin))
		toMain = append(toMain, c[0].Sub(h.built))
		childNew = append(childNew, c[1].Sub(c[0]))
		childRun = append(childRun, c[2].Sub(c[1]))
		childStart = append(childStart, c[3].Sub(c[2]))
		toParent = append(toParent, h.ready.Sub(c[3]))
		childCPU = append(childCPU, time.Duration(c[4].UnixNano()))
		total = append(total, h.ready.Sub(h.begin))
		r := raw[i]
		rawToMain = append(rawToMain, rc[i][0].Sub(r.begin))
		rawToParent = append(rawToParent, r.ready.Sub(rc[i][0]))
		rawTotal = append(rawTotal, r.ready.Sub(r.begin))
	}
	m := func(ds []time.Duration) string { return dur(harness.Median(ds)) }
	return fmt.Sprintf("Its steps (medians of %d): hostfx %s = parent app.New %s + exec to the child's main %s + "+
		"child app.New %s + child Run until the service is Starting %s + until Started %s + until the parent's Start "+
		"returns %s; raw %s = exec to the child's main %s + until the parent has the byte %s. A hostfx child has "+
		"used %s of CPU (user and system, from exec) when its service has started.",
		n, m(total), m(newApp), m(toMain), m(childNew), m(childRun), m(childStart), m(toParent),
		m(rawTotal), m(rawToMain), m(rawToParent), m(childCPU)), nil
}
