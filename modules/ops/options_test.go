package ops_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/yaml"
	"github.com/hostfx/hostfx/modules/ops"
)

func TestOptionString(t *testing.T) {
	tests := []struct {
		give ops.Option
		want string
	}{
		{give: ops.Addr(":8181"), want: `ops.Addr(":8181")`},
		{give: ops.ShutdownDelay(5 * time.Second), want: "ops.ShutdownDelay(5s)"},
		{give: ops.CheckTimeout(time.Second), want: "ops.CheckTimeout(1s)"},
		{give: ops.ReadinessExcept("batch", "import"), want: `ops.ReadinessExcept("batch", "import")`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}

// writeConfig writes a YAML configuration file and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestConfigurationWinsOverCode(t *testing.T) {
	path := writeConfig(t, "ops:\n  addr: 127.0.0.1:0\n  readiness_except: [batch]\n")
	var srv *ops.Server
	a := app.New(quiet,
		config.Module(config.Formats(yaml.Format()), config.File(path)),
		config.Provide[ops.Settings]("ops"),
		app.Service("batch", func() failer { return failer{} }, modes.SeparateThread,
			lifecycle.RestartPolicy(lifecycle.Never), lifecycle.FailAlone()),
		ops.Module(ops.Addr("127.0.0.1:1")), // port 1 cannot be listened on: the configuration must win
		fx.Populate(&srv),
	)
	started(t, a)
	eventually(t, func() bool { return a.Status()[0].State == lifecycle.StateFailed }, "batch failed")
	code, body := get(t, srv.Addr(), "/readyz")
	assert.Equal(t, http.StatusOK, code, body)
}

func TestBadConfigurationIsReported(t *testing.T) {
	path := writeConfig(t, "ops:\n  addr: localhost\n")
	a := app.New(quiet,
		config.Module(config.Formats(yaml.Format()), config.File(path)),
		config.Provide[ops.Settings]("ops"),
		ops.Module(),
	)
	require.Error(t, a.Err())
	assert.Contains(t, a.Err().Error(), `ops: addr "localhost" from the configuration's ops.addr: want host:port`)

	path = writeConfig(t, "ops:\n  shutdown_delay: -1s\n  adr: x\n")
	a = app.New(quiet,
		config.Module(config.Formats(yaml.Format()), config.File(path)),
		config.Provide[ops.Settings]("ops"),
		ops.Module(),
	)
	require.Error(t, a.Err())
	assert.Contains(t, a.Err().Error(), "ops.shutdown_delay")
	assert.Contains(t, a.Err().Error(), `ops.adr = "x"`)
	assert.Contains(t, a.Err().Error(), `did you mean "addr"?`)
}

// The shutdown delay keeps the services running while /readyz fails.
func TestShutdownDelay(t *testing.T) {
	clock := clockwork.NewFakeClock()
	var srv *ops.Server
	a := app.New(quiet,
		app.Service("api", newIdle, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0"), ops.ShutdownDelay(5*time.Second), ops.WithClock(clock)),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	require.NoError(t, a.Start(context.Background()))
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1), "the module waits its delay")
	code, _ := get(t, srv.Addr(), "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, lifecycle.StateRunning, a.Status()[0].State, "the services still run")
	clock.Advance(5 * time.Second)
	require.NoError(t, <-stopped)
	assert.Equal(t, lifecycle.StateStopped, a.Status()[0].State)
}
