package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfig(t *testing.T) {
	tests := []struct {
		name        string
		giveEnv     map[string]string
		giveArgs    []string
		want        AppConfig
		wantMode    modes.ExecutionMode
		wantSources map[string]string
	}{
		{
			name:     "development by default",
			want:     AppConfig{Message: "hello from development", Interval: 500 * time.Millisecond},
			wantMode: modes.SeparateThread,
			wantSources: map[string]string{
				"app.message":  "config.development.yaml:3",
				"app.interval": "config.development.yaml:4",
				"log.level":    "config.common.yaml:16",
			},
		},
		{
			name:     "production",
			giveEnv:  map[string]string{"APP_PROFILE": "production"},
			want:     AppConfig{Message: "hello from production", Interval: 2 * time.Second},
			wantMode: modes.SeparateThreadAsync,
			wantSources: map[string]string{
				"services.greeter.mode":          "config.production.yaml:9",
				"services.greeter.start_timeout": "config.common.yaml:10",
			},
		},
		{
			name:     "environment and flags override the files",
			giveEnv:  map[string]string{"DEMO_APP__MESSAGE": "hello from the environment", "DEMO_SERVICES__GREETER__MODE": "separate-thread-async"},
			giveArgs: []string{"--app.interval=3s"},
			want:     AppConfig{Message: "hello from the environment", Interval: 3 * time.Second},
			wantMode: modes.SeparateThreadAsync,
			wantSources: map[string]string{
				"app.message":           "env DEMO_APP__MESSAGE",
				"app.interval":          "flag --app.interval",
				"services.greeter.mode": "env DEMO_SERVICES__GREETER__MODE",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("APP_PROFILE", "")
			for k, v := range tt.giveEnv {
				t.Setenv(k, v)
			}
			c, err := config.New(options(".", tt.giveArgs)...)
			require.NoError(t, err)
			got, err := config.Bind[AppConfig](c, "app")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			mode, opts, _ := c.ServiceOptions("greeter")
			if !mode.Valid() {
				mode = modes.SeparateThread // what the code registers
			}
			assert.Equal(t, tt.wantMode, mode)
			assert.NotEmpty(t, opts, "the timeouts of services.greeter")
			for key, want := range tt.wantSources {
				e, ok := c.Lookup(key)
				require.True(t, ok, key)
				assert.Equal(t, want, e.Source, key)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("APP_PROFILE", "")
	t.Setenv("DEMO_SERVICES__GREETER__MODE", "forked")
	_, err := config.New(options(".", nil)...)
	assert.EqualError(t, err, `config: services.greeter.mode = "forked" (env DEMO_SERVICES__GREETER__MODE): unknown execution mode "forked": want one of MAIN_EVENT_LOOP_ASYNC, SEPARATE_THREAD, SEPARATE_THREAD_ASYNC, SEPARATE_PROCESS, SEPARATE_PROCESS_ASYNC`,
		"the services section is checked when the configuration is read")
}

func TestBindErrorsStopTheApp(t *testing.T) {
	t.Setenv("APP_PROFILE", "")
	t.Setenv("DEMO_APP__INTERVAL", "soon")
	c, err := config.New(options(".", nil)...)
	require.NoError(t, err)
	err = newApp(c, app.Logger(zap.NewNop()), fx.NopLogger).Err()
	assert.ErrorContains(t, err, `app.interval = "soon" (env DEMO_APP__INTERVAL): want a duration such as 300ms, 30s or 1h30m`)
}

// TestProblemsAllAtOnce is the run that docs/configuration.md shows:
// DEMO_APP__MESSAGE= DEMO_APP__INTERVAL=-1s go run . --app.intervl=1s.
func TestProblemsAllAtOnce(t *testing.T) {
	t.Setenv("APP_PROFILE", "")
	t.Setenv("DEMO_APP__MESSAGE", "")
	t.Setenv("DEMO_APP__INTERVAL", "-1s")
	c, err := config.New(options(".", []string{"--app.intervl=1s"})...)
	require.NoError(t, err)
	err = newApp(c, app.Logger(zap.NewNop()), fx.NopLogger).Err()
	assert.ErrorContains(t, err, "config: 3 problems:\n"+
		"\tapp.interval = \"-1s\" (env DEMO_APP__INTERVAL): want more than 0\n"+
		"\tapp.intervl = \"1s\" (flag --app.intervl): unknown key; did you mean \"interval\"?\n"+
		"\tapp.message = \"\" (env DEMO_APP__MESSAGE): a value is required")
}

// TestApp builds and runs the example's app in each mode the profiles
// pick, with the configuration injected into the greeter.
func TestApp(t *testing.T) {
	for _, profile := range []string{"development", "production"} {
		t.Run(profile, func(t *testing.T) {
			t.Setenv("APP_PROFILE", profile)
			c, err := config.New(options(".", nil)...)
			require.NoError(t, err)
			var got *Greeter
			a := newApp(c, app.Logger(zap.NewNop()), fx.NopLogger, fx.Populate(&got))
			require.NoError(t, a.Err())
			ctx := context.Background()
			require.NoError(t, a.Start(ctx))
			require.NoError(t, a.Stop(ctx))
			assert.Equal(t, "hello from "+profile, got.cfg.Message)
		})
	}
}
