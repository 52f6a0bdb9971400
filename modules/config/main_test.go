package config_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/goleak"

	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/ini"
	"github.com/hostfx/hostfx/modules/config/toml"
	"github.com/hostfx/hostfx/modules/config/yaml"
)

// formats reads every file format the tests write.
var formats = config.Formats(yaml.Format(), toml.Format(), ini.Format())

// helperEnv names the scenario a re-executed test binary runs instead of
// the tests, for behaviour that ends the process.
const helperEnv = "HOSTFX_CONFIG_TEST_HELPER"

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	goleak.VerifyTestMain(m)
}

// runHelper runs a scenario in a child test binary, which ends as a
// program would once the configuration is printed.
func runHelper(name string) int {
	args := []string{"--app.name=demo", "--print-config"}
	switch name {
	case "print-new":
		c, err := config.New(config.Args(args), config.PrintConfigFlag(), config.Env("HOSTFX_CONFIG_TEST_SECRET"))
		if err != nil {
			fmt.Println(err)
			return 2
		}
		if _, err := config.Bind[App](c, "app"); err != nil {
			fmt.Println(err)
			return 2
		}
		if err := c.HandlePrintFlag(); errors.Is(err, config.ErrPrinted) {
			return 0
		}
	case "print-fx":
		app := fx.New(fx.NopLogger,
			config.Module(config.Args(args), config.PrintConfigFlag(), config.Env("HOSTFX_CONFIG_TEST_SECRET")),
			config.Provide[App]("app"),
		)
		if errors.Is(app.Err(), config.ErrPrinted) {
			return 0
		}
		fmt.Println("not printed:", app.Err())
		return 3
	}
	return 4
}

// inDir writes files into a fresh directory and makes it the working
// directory, so sources are named by short relative paths.
func inDir(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	t.Chdir(dir)
}

// parsedFlags returns a parsed flag set of string flags named by keys.
func parsedFlags(t *testing.T, keys []string, args ...string) *flag.FlagSet {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	for _, k := range keys {
		fs.String(k, "", "")
	}
	require.NoError(t, fs.Parse(args))
	return fs
}

// entry looks a key up and fails the test when it is not set.
func entry(t *testing.T, c *config.Config, key string) config.Entry {
	t.Helper()
	e, ok := c.Lookup(key)
	require.True(t, ok, "key %q is not set", key)
	return e
}

// App is the section most tests bind.
type App struct {
	Name     string        `validate:"required"`
	Port     int           `default:"8080" validate:"min=1,max=65535"`
	Timeout  time.Duration `default:"5s"`
	Password string        `secret:"true"`
}
