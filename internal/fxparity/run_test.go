package fxparity_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/goleak"

	"github.com/hostfx/hostfx/app"
)

// scenarioEnv names the program a re-executed test binary runs with Run,
// which owns the process: it exits.
const scenarioEnv = "HOSTFX_FXPARITY_SCENARIO"

func TestMain(m *testing.M) {
	if s := os.Getenv(scenarioEnv); s != "" {
		runScenario(s)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// stdoutEvents prints the type of every fx event that is not hostfx's own,
// one a line, for the parent test to read.
type stdoutEvents struct{}

func (stdoutEvents) LogEvent(e fxevent.Event) {
	if line, ok := describe(e); ok {
		kind, _, _ := strings.Cut(line, " ")
		fmt.Println("event", kind)
	}
}

// scenarios are programs whose Run must end the same way with and without
// hostfx: they name the variant after a colon.
var scenarios = map[string]func() []fx.Option{
	// A start hook that ignores nothing but its context: fx's start
	// timeout ends it.
	"start-timeout": func() []fx.Option {
		return []fx.Option{
			fx.StartTimeout(200 * time.Millisecond),
			fx.Invoke(func(lc fx.Lifecycle) {
				lc.Append(fx.StartHook(func(ctx context.Context) error {
					<-ctx.Done() // without the timeout, never: the test's deadline fails it
					return ctx.Err()
				}))
			}),
		}
	},
	// A stop hook that waits for its context: fx's stop timeout ends it.
	"stop-timeout": func() []fx.Option {
		return []fx.Option{
			fx.StopTimeout(200 * time.Millisecond),
			fx.Invoke(func(lc fx.Lifecycle, sd fx.Shutdowner) {
				lc.Append(fx.Hook{
					OnStart: func(context.Context) error { return sd.Shutdown() },
					OnStop: func(ctx context.Context) error {
						<-ctx.Done() // without the timeout, never
						return ctx.Err()
					},
				})
			}),
		}
	},
	// A shutdown with an exit code.
	"exit-code": func() []fx.Option {
		return []fx.Option{
			fx.Invoke(func(lc fx.Lifecycle, sd fx.Shutdowner) {
				lc.Append(fx.StartHook(func() error { return sd.Shutdown(fx.ExitCode(3)) }))
			}),
		}
	},
}

func runScenario(s string) {
	name, how, _ := strings.Cut(s, ":")
	opts := append(scenarios[name](), fx.WithLogger(func() fxevent.Logger { return stdoutEvents{} }))
	if how == "hostfx" {
		app.New(opts...).Run()
		return
	}
	fx.New(opts...).Run()
}

// settled leaves out the events that race with the process's exit when a
// timeout cuts a hook short: fx logs the hook's end from the hook's own
// goroutine, and its rollback after a start timeout, if it gets that far
// before the exit.
func settled(lines []string) []string {
	var out []string
	for _, l := range lines {
		switch l {
		case "event OnStartExecuted", "event OnStopExecuted", "event RollingBack", "event RolledBack":
		default:
			out = append(out, l)
		}
	}
	return out
}

type outcome struct {
	code  int
	lines []string
}

func runChild(t *testing.T, scenario string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), scenarioEnv+"="+scenario)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%s did not end", scenario)
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	var lines []string
	for sc := bufio.NewScanner(&out); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	return outcome{code, lines}
}

// Run ends as fx's Run does: fx's timeouts bound the start and the stop,
// a shutdown's exit code is the process's, and fx reports the stop.
func TestRunEndsAsFxRunDoes(t *testing.T) {
	tests := []struct {
		scenario string
		wantCode int
		wantLine string
	}{
		{"start-timeout", 1, "event Started"},
		{"stop-timeout", 1, "event Stopped"},
		{"exit-code", 3, "event Stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			want := runChild(t, tt.scenario+":fx")
			require.Equal(t, tt.wantCode, want.code, "fx: %v", want.lines)
			require.Contains(t, want.lines, tt.wantLine)
			got := runChild(t, tt.scenario+":hostfx")
			assert.Equal(t, want.code, got.code, "hostfx: %v", got.lines)
			assert.Equal(t, settled(want.lines), settled(got.lines))
		})
	}
}
