package config_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/hostfx/hostfx/modules/config"
)

type DB struct {
	Host string `validate:"required"`
	Pool int    `default:"4"`
}

func TestModuleProvide(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\ndb:\n  host: db.local\n"})
	t.Setenv("CFG_APP__PORT", "9090")
	var (
		gotApp  App
		gotDB   *DB
		gotConf *config.Config
	)
	app := fxtest.New(t,
		fx.NopLogger,
		config.Module(formats, config.File("config.yaml"), config.Env("CFG")),
		config.Provide[App]("app"),
		config.Provide[DB]("db"),
		fx.Invoke(func(a App, d *DB, c *config.Config) { gotApp, gotDB, gotConf = a, d, c }),
	)
	app.RequireStart().RequireStop()
	assert.Equal(t, App{Name: "demo", Port: 9090, Timeout: 5e9}, gotApp)
	assert.Equal(t, &DB{Host: "db.local", Pool: 4}, gotDB)
	assert.Equal(t, "env CFG_APP__PORT", entry(t, gotConf, "app.port").Source)
}

func TestSupply(t *testing.T) {
	c, err := config.New(formats, config.Args([]string{"--app.name=demo"}))
	require.NoError(t, err)
	var got *App
	fxtest.New(t, fx.NopLogger,
		config.Supply(c),
		config.Provide[App]("app"),
		fx.Populate(&got),
	).RequireStart().RequireStop()
	assert.Equal(t, "demo", got.Name)
}

// TestModuleReportsEverything checks that one error holds the problems of
// every binding and every key nothing binds, before any of them is used.
func TestModuleReportsEverything(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\n  port: 0\ndb:\n  pool: 2\nap:\n  name: typo\nmisc: 1\n"})
	invoked := false
	app := fx.New(fx.NopLogger,
		config.Module(formats, config.File("config.yaml")),
		config.Provide[App]("app"),
		config.Provide[DB]("db"),
		fx.Invoke(func(App) { invoked = true }),
	)
	err := app.Err()
	require.Error(t, err)
	assert.False(t, invoked)
	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr), "got %v", err)
	assert.Equal(t, "config: 4 problems:\n"+
		"\tapp.port = 0 (config.yaml:3): want at least 1\n"+
		"\tdb.host (not set): a value is required\n"+
		"\tap (config.yaml:7): unknown key: nothing binds it; did you mean \"app\"?\n"+
		"\tmisc = 1 (config.yaml:8): unknown key: nothing binds it; bind it with config.Provide, or pass config.AllowUnknownKeys()",
		cfgErr.Error())
	assert.ErrorIs(t, err, config.ErrUnknownKey)
}

func TestModuleUnboundUnderABoundParent(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  db:\n    host: x\n  dbs:\n    host: y\n"})
	err := fx.New(fx.NopLogger,
		config.Module(formats, config.File("config.yaml")),
		config.Provide[DB]("app.db"),
	).Err()
	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr), "got %v", err)
	assert.Equal(t, `config: app.dbs (config.yaml:5): unknown key: nothing binds it; did you mean "app.db"?`, cfgErr.Error())
}

func TestModuleAllowUnknownKeys(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\n  other: 1\nmisc: 1\n"})
	var got App
	fxtest.New(t, fx.NopLogger,
		config.Module(formats, config.File("config.yaml"), config.AllowUnknownKeys()),
		config.Provide[App]("app"),
		fx.Populate(&got),
	).RequireStart().RequireStop()
	assert.Equal(t, "demo", got.Name)
}

func TestModuleNewFails(t *testing.T) {
	err := fx.New(fx.NopLogger, config.Module(formats, config.File("missing.yaml"))).Err()
	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr), "got %v", err)
	assert.Equal(t, "config: missing.yaml: file not found; create it, or wrap it in config.Optional if it may be absent", cfgErr.Error())
}

func TestModuleServicesAreKnown(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "services:\n  worker:\n    mode: SEPARATE_THREAD\n"})
	var c *config.Config
	fxtest.New(t, fx.NopLogger, config.Module(formats, config.File("config.yaml")), fx.Populate(&c)).RequireStart().RequireStop()
	s, ok := c.Service("worker")
	require.True(t, ok)
	assert.Equal(t, "SEPARATE_THREAD", s.Mode.String())
}
