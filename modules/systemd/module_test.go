package systemd_test

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/systemd"
)

var quiet = fx.Options(app.Logger(zap.NewNop()), fx.NopLogger)

// service runs until stopped, then calls onStop.
type service struct{ onStop func() }

func (s *service) Run(ctx context.Context) error {
	<-ctx.Done()
	if s.onStop != nil {
		s.onStop()
	}
	return nil
}

func TestReadyAfterStartStoppingBeforeStop(t *testing.T) {
	conn := listen(t)
	seenAtStop := make(chan string, 1)
	firstToStop := &service{onStop: func() { seenAtStop <- next(t, conn) }}
	a := app.New(quiet,
		app.Service("first", func() *service { return &service{} }, modes.SeparateThread),
		app.Service("second", func() *service { return firstToStop }, modes.SeparateThread),
		systemd.Module(),
	)
	require.NoError(t, a.Err())
	_, inherited := os.LookupEnv("NOTIFY_SOCKET")
	assert.False(t, inherited, "the children the app starts do not inherit the socket")

	require.NoError(t, a.Start(context.Background()))
	assert.Equal(t, "READY=1", next(t, conn))
	require.NoError(t, a.Stop(context.Background()))
	assert.Equal(t, "STOPPING=1", <-seenAtStop, "systemd hears of the stop before the first service stops")
}

func TestWatchdogPingsWhileTheAppRuns(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "20000") // a ping every 10ms
	t.Setenv("WATCHDOG_PID", "")
	a := app.New(quiet,
		app.Service("api", func() *service { return &service{} }, modes.SeparateThread),
		systemd.Module(),
	)
	require.NoError(t, a.Err())
	require.NoError(t, a.Start(context.Background()))
	assert.Equal(t, "READY=1", next(t, conn))
	assert.Equal(t, "WATCHDOG=1", next(t, conn))
	assert.Equal(t, "WATCHDOG=1", next(t, conn))
	require.NoError(t, a.Stop(context.Background()))
	for msg := next(t, conn); msg != "STOPPING=1"; msg = next(t, conn) {
		assert.Equal(t, "WATCHDOG=1", msg)
	}
}

func TestOutsideSystemdNothingHappens(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	a := app.New(quiet, app.Service("api", func() *service { return &service{} }, modes.SeparateThread), systemd.Module())
	require.NoError(t, a.Err())
	require.NoError(t, a.Start(context.Background()))
	require.NoError(t, a.Stop(context.Background()))
}

func TestModuleBeforeTheServicesFailsStart(t *testing.T) {
	listen(t)
	a := app.New(quiet, systemd.Module(), app.Service("api", func() *service { return &service{} }, modes.SeparateThread))
	require.NoError(t, a.Err())
	err := a.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `systemd.Module: service "api" is built after it`)
}

func TestBadWatchdogIsReported(t *testing.T) {
	listen(t)
	t.Setenv("WATCHDOG_USEC", "soon")
	a := app.New(quiet, systemd.Module())
	require.Error(t, a.Err())
	assert.Contains(t, a.Err().Error(), `systemd: WATCHDOG_USEC="soon": want a positive whole number of microseconds`)
}

func TestUnreachableSocketFailsStart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NOTIFY_SOCKET", dir+"/gone")
	a := app.New(quiet, systemd.Module())
	require.NoError(t, a.Err())
	err := a.Start(context.Background())
	require.Error(t, err)
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	assert.Contains(t, err.Error(), "systemd: notify READY=1 on "+dir+"/gone: ")
}
