package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

func TestService(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": `services:
  worker:
    mode: separate-thread
    start_timeout: 2s
    restart: EXPONENTIAL_BACKOFF
    intensity:
      max_restarts: 3
      window: 1m
  pulse:
    mode: MAIN_EVENT_LOOP_ASYNC
`})
	t.Setenv("CFG_SERVICES__WORKER__STOP_TIMEOUT", "5s")
	c, err := config.New(formats, config.File("config.yaml"), config.Env("CFG"))
	require.NoError(t, err)

	assert.Equal(t, []string{"pulse", "worker"}, c.Services())
	got, ok := c.Service("Worker")
	require.True(t, ok, "names match case-insensitively")
	assert.Equal(t, config.ServiceSettings{
		Name:         "worker",
		Mode:         modes.SeparateThread,
		StartTimeout: 2 * time.Second,
		StopTimeout:  5 * time.Second,
		Restart:      lifecycle.DefaultStrategy(lifecycle.StrategyExponentialBackoff),
		Intensity:    config.Intensity{MaxRestarts: 3, Window: time.Minute},
		Sources: map[string]string{
			"mode":                   "config.yaml:3",
			"start_timeout":          "config.yaml:4",
			"restart":                "config.yaml:5",
			"intensity.max_restarts": "config.yaml:7",
			"intensity.window":       "config.yaml:8",
			"stop_timeout":           "env CFG_SERVICES__WORKER__STOP_TIMEOUT",
		},
	}, got)

	got.Sources["mode"] = "changed"
	again, _ := c.Service("worker")
	assert.Equal(t, "config.yaml:3", again.Sources["mode"], "the caller gets a copy")

	_, ok = c.Service("missing")
	assert.False(t, ok)
}

func TestServiceErrors(t *testing.T) {
	tests := []struct {
		name    string
		give    string // config.yaml
		wantErr string
	}{
		{
			name: "bad values and typos, all at once",
			give: "services:\n  worker:\n    mode: threaded\n    start_timeout: -1s\n    stop_timeout: soon\n    restrat: IMMEDIATE\n",
			wantErr: "config: 4 problems:\n" +
				"\tservices.worker.mode = \"threaded\" (config.yaml:3): unknown execution mode \"threaded\": want one of MAIN_EVENT_LOOP_ASYNC, SEPARATE_THREAD, SEPARATE_THREAD_ASYNC, SEPARATE_PROCESS, SEPARATE_PROCESS_ASYNC\n" +
				"\tservices.worker.restrat = \"IMMEDIATE\" (config.yaml:6): unknown key; did you mean \"restart\"?\n" +
				"\tservices.worker.start_timeout = \"-1s\" (config.yaml:4): want at least 0\n" +
				"\tservices.worker.stop_timeout = \"soon\" (config.yaml:5): want a duration such as 300ms, 30s or 1h30m",
		},
		{
			name:    "a service that is not a section",
			give:    "services:\n  worker: SEPARATE_THREAD\n",
			wantErr: `config: services.worker = "SEPARATE_THREAD" (config.yaml:2): want a section of keys`,
		},
		{
			name:    "services that is not a section",
			give:    "services: [worker]\n",
			wantErr: `config: services = ["worker"] (config.yaml:1): want a section with one section per service`,
		},
		{
			name:    "negative intensity",
			give:    "services:\n  worker:\n    intensity:\n      max_restarts: -1\n",
			wantErr: `config: services.worker.intensity.max_restarts = -1 (config.yaml:4): want at least 0`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"config.yaml": tt.give})
			_, err := config.New(formats, config.File("config.yaml"))
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestServiceWatchdog(t *testing.T) {
	c, err := config.New(config.Args([]string{"--services.worker.watchdog=3s", "--services.worker.replace_on_hangup=true"}))
	require.NoError(t, err)
	_, opts, sources := c.ServiceOptions("worker")
	assert.Equal(t, 3*time.Second, lifecycle.DefaultSettings().With(opts...).Watchdog)
	assert.True(t, lifecycle.DefaultSettings().With(opts...).ReplaceOnHangup)
	assert.Equal(t, "flag --services.worker.watchdog", sources["watchdog"])

	_, err = config.New(config.Args([]string{"--services.worker.watchdog=-1s"}))
	assert.ErrorContains(t, err, "services.worker.watchdog")
}

func TestServiceLimits(t *testing.T) {
	c, err := config.New(config.Args([]string{"--services.worker.limits.memory=256MiB", "--services.worker.limits.files=512",
		"--services.worker.limits.cpu_time=1m", "--services.worker.limits.processes=32"}))
	require.NoError(t, err)
	_, opts, sources := c.ServiceOptions("worker")
	assert.Equal(t, lifecycle.ResourceLimits{Memory: 256 << 20, Files: 512, CPUTime: time.Minute, Processes: 32},
		lifecycle.DefaultSettings().With(opts...).Limits)
	assert.Equal(t, "flag --services.worker.limits.memory", sources["limits.memory"])

	// One key keeps the rest of what the code set.
	c, err = config.New(config.Args([]string{"--services.worker.limits.files=9"}))
	require.NoError(t, err)
	_, opts, _ = c.ServiceOptions("worker")
	code := lifecycle.Limits(lifecycle.ResourceLimits{Memory: 64 << 20, Files: 100})
	assert.Equal(t, lifecycle.ResourceLimits{Memory: 64 << 20, Files: 9},
		lifecycle.DefaultSettings().With(append([]lifecycle.Option{code}, opts...)...).Limits)

	for _, bad := range []string{"--services.worker.limits.memory=lots", "--services.worker.limits.files=-1"} {
		_, err = config.New(config.Args([]string{bad}))
		key, _, _ := strings.Cut(strings.TrimPrefix(bad, "--"), "=")
		assert.ErrorContains(t, err, key)
	}
}
