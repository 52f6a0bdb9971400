package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap/zapcore"

	"github.com/hostfx/hostfx/modules/config"
)

func TestLogLevel(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "log:\n  level: debug\n"})
	c, err := config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)
	level, source, ok := c.LogLevel()
	assert.True(t, ok)
	assert.Equal(t, zapcore.DebugLevel, level)
	assert.Equal(t, "log.level (config.yaml:2)", source)

	t.Setenv("CFG_LOG__LEVEL", "Warn")
	c, err = config.New(formats, config.File("config.yaml"), config.Env("CFG"))
	require.NoError(t, err)
	level, source, ok = c.LogLevel()
	assert.True(t, ok)
	assert.Equal(t, zapcore.WarnLevel, level)
	assert.Equal(t, "log.level (env CFG_LOG__LEVEL)", source)

	c, err = config.New()
	require.NoError(t, err)
	_, _, ok = c.LogLevel()
	assert.False(t, ok, "no source sets it")
}

func TestLogLevelErrors(t *testing.T) {
	tests := []struct {
		give    string // config.yaml
		wantErr string
	}{
		{give: "log:\n  level: loud\n", wantErr: `config: log.level = "loud" (config.yaml:2): want debug, info, warn, error, dpanic, panic or fatal`},
		{give: "log:\n  level: 3\n", wantErr: `config: log.level = 3 (config.yaml:2): want debug, info, warn, error, dpanic, panic or fatal`},
		{give: "log:\n  level: [debug]\n", wantErr: `config: log.level = ["debug"] (config.yaml:2): want debug, info, warn, error, dpanic, panic or fatal`},
	}
	for _, tt := range tests {
		inDir(t, map[string]string{"config.yaml": tt.give})
		_, err := config.New(formats, config.File("config.yaml"))
		assert.EqualError(t, err, tt.wantErr)
	}
}

// TestLogLevelIsKnown checks that log.level is no unknown key, wherever
// the section around it is bound, while the keys beside it still are.
func TestLogLevelIsKnown(t *testing.T) {
	type Root struct{ App App }
	type Log struct{ Format string }

	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\nlog:\n  level: debug\n  format: json\n  colour: true\n"})
	c, err := config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)
	_, err = config.Bind[Root](c, "")
	assert.EqualError(t, err, "config: 2 problems:\n"+
		"\tlog.colour = true (config.yaml:6): unknown key\n"+
		"\tlog.format = \"json\" (config.yaml:5): unknown key")
	_, err = config.Bind[Log](c, "log")
	assert.EqualError(t, err, `config: log.colour = true (config.yaml:6): unknown key; want one of format`)

	c, err = config.New(formats, config.File("config.yaml")) // not told of Root and Log
	require.NoError(t, err)
	err = fx.New(fx.NopLogger, config.Supply(c), config.Provide[App]("app")).Err()
	require.Error(t, err)
	assert.EqualError(t, err, "config: 2 problems:\n"+
		"\tlog.colour = true (config.yaml:6): unknown key: nothing binds it; bind it with config.Provide, or pass config.AllowUnknownKeys()\n"+
		"\tlog.format = \"json\" (config.yaml:5): unknown key: nothing binds it; bind it with config.Provide, or pass config.AllowUnknownKeys()")

	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\nlog:\n  level: debug\n"})
	c, err = config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)
	_, err = config.Bind[Root](c, "")
	require.NoError(t, err)
	require.NoError(t, fx.New(fx.NopLogger, config.Supply(c), config.Provide[App]("app")).Err())
}
