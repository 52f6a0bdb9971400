package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// hog goes over the limit its name gives, in its child, as soon as it runs.
type hog struct {
	what string
	log  *zap.Logger
}

func newHog(what string) func(*zap.Logger) *hog {
	return func(log *zap.Logger) *hog { return &hog{what, log} }
}

// keep holds what a memory hog allocated, so the collector cannot free it;
// cpuSink is what a CPU hog works at.
var (
	keep    [][]byte
	cpuSink int
)

func (h *hog) Run(ctx context.Context) error {
	lifecycle.Ready(ctx)
	switch h.what {
	case "memory":
		for ctx.Err() == nil {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1 // touched, so it is memory, not just address space
			}
			keep = append(keep, b)
			if len(keep)%4 == 0 {
				h.log.Info("allocated", zap.Int("mib", len(keep)))
			}
		}
	case "cpu":
		for ctx.Err() == nil { // busy until the kernel kills it
			cpuSink++
		}
	case "files":
		for ctx.Err() == nil {
			f, err := os.Open(os.DevNull)
			if err != nil {
				return fmt.Errorf("open another file: %w", err)
			}
			defer func() { _ = f.Close() }() // read-only: nothing to lose
		}
	case "processes":
		if os.Geteuid() == 0 {
			// Root is exempt from RLIMIT_NPROC, the process limit when no
			// cgroup holds the child: run as a user, as a service would.
			if err := errors.Join(syscall.Setgroups(nil), syscall.Setgid(65534), syscall.Setuid(65534)); err != nil {
				return fmt.Errorf("drop root: %w", err)
			}
		}
		for ctx.Err() == nil {
			// Never waited for: each stays a zombie, and counts.
			if err := exec.Command("/bin/true").Start(); err != nil {
				return fmt.Errorf("start another process: %w", err)
			}
		}
	}
	return ctx.Err()
}

func TestChildOverItsLimitEndsSayingWhichAndRestarts(t *testing.T) {
	tests := []struct {
		what   string
		limits lifecycle.ResourceLimits
		want   string
	}{
		{"memory", lifecycle.ResourceLimits{Memory: 64 << 20}, "over its memory limit of 64 MiB"},
		{"cpu", lifecycle.ResourceLimits{CPUTime: time.Second}, "signal: killed: over its CPU time limit of 1s"},
		{"files", lifecycle.ResourceLimits{Files: 64}, "over its open-file limit of 64: "},
		{"processes", lifecycle.ResourceLimits{Processes: 32}, "over its process limit of 32: "},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			fxapp, rec, logs := processApp(t, app.Service("hog", newHog(tt.what), modes.SeparateProcess,
				lifecycle.Limits(tt.limits), lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(1, time.Hour)))
			fxapp.RequireStart()
			waitFor[*lifecycle.GaveUp](t, rec, "hog")

			crashes := crashesOf(rec, "hog")
			require.Len(t, crashes, 2, "one restart, as the intensity allows, then the service gave up")
			for _, c := range crashes {
				var ee *lifecycle.ChildExitError
				require.ErrorAs(t, c.Err, &ee)
				assert.Equal(t, tt.what, map[string]string{"memory": "memory", "CPU time": "cpu", "open files": "files", "processes": "processes"}[ee.Limit], "%v", c.Err)
				assert.ErrorContains(t, c.Err, tt.want)
			}
			assert.Equal(t, []string{"hog"}, names[*lifecycle.Restarting](rec, nil))
			if tt.what == "memory" {
				most := 0
				for _, e := range logs.FilterMessage("allocated").All() {
					most = max(most, int(e.ContextMap()["mib"].(int64)))
				}
				// A cgroup counts all the child's memory, its binary and
				// runtime too; RLIMIT_DATA counts what it takes after its
				// start, plus room for thread stacks.
				least := 64
				if logs.FilterMessage("resource limits").All()[0].ContextMap()["mechanism"] == "cgroup v2" {
					least = 32
				}
				assert.Greater(t, most, least, "the child took all the memory it could before it died")
			}
			assert.Positive(t, logs.FilterMessage("resource limits").Len(), "the log says how the limits were set")
			assert.Equal(t, 1, (<-fxapp.Wait()).ExitCode)
			fxapp.RequireStop()
		})
	}
}

func crashesOf(rec *recorder, service string) []*lifecycle.Crashed {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []*lifecycle.Crashed
	for _, e := range rec.events {
		if c, ok := e.(*lifecycle.Crashed); ok && c.Service == service {
			out = append(out, c)
		}
	}
	return out
}

func TestLimitsNeedAProcessMode(t *testing.T) {
	err := app.New(quiet(), fx.NopLogger, app.Service("local", newHog("idle"), modes.SeparateThread,
		lifecycle.Limits(lifecycle.ResourceLimits{Memory: 64 << 20}))).Err()
	require.Error(t, err)
	assert.ErrorContains(t, err, `service "local" (SEPARATE_THREAD)`)
	assert.ErrorContains(t, err, "resource limits (memory 64 MiB) need a process mode")

	err = app.New(quiet(), fx.NopLogger, app.ServiceDefaults(lifecycle.Limits(lifecycle.ResourceLimits{Files: 10})),
		app.Service("local", newHog("idle"), modes.SeparateThread)).Err()
	assert.ErrorContains(t, err, "app.ServiceDefaults: lifecycle.Limits(open files 10): resource limits are a process service's own")

	err = app.New(quiet(), fx.NopLogger, app.Test(t), app.Service("bad", newHog("idle"), modes.SeparateProcess,
		lifecycle.Limits(lifecycle.ResourceLimits{CPUTime: 1500 * time.Millisecond}))).Err()
	assert.ErrorContains(t, err, `service "bad" (SEPARATE_PROCESS)`)
	assert.ErrorContains(t, err, "CPU time limit 1.5s: want whole seconds")
}
