package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

// loggerOf builds an app of one service and returns the logger its
// constructor got, which is the app's logger naming the service.
func loggerOf(t *testing.T, opts ...fx.Option) (*zap.Logger, error) {
	t.Helper()
	var got *zap.Logger
	ctor := func(log *zap.Logger) *node[[1]byte] { got = log; return leaf[[1]byte]() }
	a := app.New(append(opts, fx.NopLogger, app.Service("s", ctor, modes.SeparateThread))...)
	if err := a.Err(); err != nil {
		return nil, err
	}
	if got == nil { // constructed when the app starts
		require.NoError(t, a.Start(context.Background()))
		require.NoError(t, a.Stop(context.Background()))
	}
	require.NotNil(t, got)
	return got, nil
}

// lowest is the lowest level a logger logs at.
func lowest(log *zap.Logger) zapcore.Level { return zapcore.LevelOf(log.Core()) }

func argsConfig(t *testing.T, args ...string) fx.Option {
	t.Helper()
	c, err := config.New(config.Args(args))
	require.NoError(t, err)
	return config.Supply(c)
}

func TestLogLevelOfTheDefaultLogger(t *testing.T) {
	tests := []struct {
		name    string
		give    []fx.Option
		giveEnv string // HOSTFX_LOG_LEVEL
		want    zapcore.Level
	}{
		{name: "info by default", want: zapcore.InfoLevel},
		{name: "the option", give: []fx.Option{app.LogLevel(zapcore.DebugLevel)}, want: zapcore.DebugLevel},
		{name: "the config key", give: []fx.Option{argsConfig(t, "--log.level=warn")}, want: zapcore.WarnLevel},
		{
			name: "the config key over the option",
			give: []fx.Option{app.LogLevel(zapcore.DebugLevel), argsConfig(t, "--log.level=ERROR")},
			want: zapcore.ErrorLevel,
		},
		{
			name: "a configuration without the key leaves the option",
			give: []fx.Option{app.LogLevel(zapcore.WarnLevel), argsConfig(t, "--services.s.replicas=1")},
			want: zapcore.WarnLevel,
		},
		{
			name:    "the variable over both",
			give:    []fx.Option{app.LogLevel(zapcore.DebugLevel), argsConfig(t, "--log.level=warn")},
			giveEnv: "error",
			want:    zapcore.ErrorLevel,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(app.EnvLogLevel, tt.giveEnv)
			log, err := loggerOf(t, tt.give...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, lowest(log))
		})
	}
}

func TestLogLevelOfAGivenLogger(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log, err := loggerOf(t, app.Logger(zap.New(core)), app.LogLevel(zapcore.WarnLevel))
	require.NoError(t, err)
	assert.Equal(t, zapcore.WarnLevel, lowest(log))
	log.Info("dropped")
	log.Warn("kept")
	assert.Equal(t, 1, logs.FilterMessage("kept").Len())
	assert.Zero(t, logs.FilterMessage("dropped").Len())

	core, _ = observer.New(zapcore.InfoLevel)
	log, err = loggerOf(t, app.Logger(zap.New(core)), argsConfig(t, "--log.level=error"))
	require.NoError(t, err)
	assert.Equal(t, zapcore.ErrorLevel, lowest(log), "the config key raises it too")

	log, err = loggerOf(t, app.Logger(zap.NewNop()), app.LogLevel(zapcore.DebugLevel))
	require.NoError(t, err)
	assert.False(t, log.Core().Enabled(zapcore.FatalLevel), "a logger that logs nothing stays so")

	program := func() *zap.Logger { return zap.New(core) }
	log, err = loggerOf(t, fx.Provide(program), app.LogLevel(zapcore.WarnLevel))
	require.NoError(t, err)
	assert.Equal(t, zapcore.WarnLevel, lowest(log), "the program's own logger")
}

func TestLogLevelErrors(t *testing.T) {
	infoCore, _ := observer.New(zapcore.InfoLevel)
	tests := []struct {
		name    string
		give    []fx.Option
		wantErr []string // parts of the message
	}{
		{
			name:    "not a level",
			give:    []fx.Option{app.LogLevel(zapcore.Level(9))},
			wantErr: []string{"app.LogLevel(Level(9)) at loglevel_test.go:", "want debug, info, warn, error, dpanic, panic or fatal"},
		},
		{
			name:    "given twice",
			give:    []fx.Option{app.LogLevel(zapcore.WarnLevel), app.LogLevel(zapcore.ErrorLevel)},
			wantErr: []string{"app.LogLevel is given 2 times: app.LogLevel(error) at loglevel_test.go:", ", app.LogLevel(warn) at loglevel_test.go:", "; keep one"},
		},
		{
			name: "below a given logger's own",
			give: []fx.Option{app.Logger(zap.New(infoCore)), app.LogLevel(zapcore.DebugLevel)},
			wantErr: []string{"app.LogLevel(debug) at loglevel_test.go:",
				": the logger given with app.Logger logs at info and above, and a zap logger cannot log more than it was built to: build it at debug, or leave the level to it"},
		},
		{
			name:    "the config key below the program's logger's own",
			give:    []fx.Option{fx.Provide(func() *zap.Logger { return zap.New(infoCore) }), argsConfig(t, "--log.level=debug")},
			wantErr: []string{`log.level (flag --log.level): the program's *zap.Logger logs at info and above`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loggerOf(t, tt.give...)
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestLogLevelConfigKeyErrors(t *testing.T) {
	for _, give := range []string{"loud", ""} {
		_, err := config.New(config.Args([]string{"--log.level=" + give}))
		assert.EqualError(t, err, `config: log.level = "`+give+`" (flag --log.level): want debug, info, warn, error, dpanic, panic or fatal`)
	}
}
