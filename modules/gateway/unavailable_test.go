package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
)

// While a service waits to restart, the gateway answers 503 with what is
// left of the delay in Retry-After.
func TestRetryAfterIsWhatIsLeftOfTheBackoff(t *testing.T) {
	clock := clockwork.NewFakeClock()
	sock := socket(t, "flaky.sock")
	flaky := onUnix(sock, echo("flaky"))
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("flaky", func() *web { return flaky }, modes.SeparateThread,
			lifecycle.WaitForReady(), lifecycle.Restart(lifecycle.FixedBackoff(time.Hour))),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "flaky", gateway.Unix(sock)), gateway.WithClock(clock)),
		fx.Populate(&srv),
	)
	started(t, a)
	require.Equal(t, http.StatusOK, get(t, srv.Addr(), "/").code)

	flaky.fail <- errFailed
	var got response
	eventually(t, func() bool {
		got = get(t, srv.Addr(), "/")
		return got.header.Get("Retry-After") == "3600"
	}, "503 with the whole delay left")
	assert.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Equal(t, lifecycle.StateBackoff, stateOf(a, "flaky"))
	assert.Equal(t, "503 Service Unavailable: the service is not running\n", got.body)

	clock.Advance(20*time.Minute + 500*time.Millisecond)
	got = get(t, srv.Addr(), "/")
	assert.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Equal(t, "2400", got.header.Get("Retry-After"), "rounded up")

	clock.Advance(2 * time.Hour)
	assert.Equal(t, "1", get(t, srv.Addr(), "/").header.Get("Retry-After"), "a restart that is late comes any moment")
}

// gated is a service that starts when the test says so.
type gated struct{ ready chan struct{} }

func (g gated) Run(ctx context.Context) error {
	select {
	case <-g.ready:
		lifecycle.Ready(ctx)
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

// The gateway listens before the services start, and answers 503 with
// Retry-After until its service runs.
func TestStartingServiceAnswers503(t *testing.T) {
	g := gated{ready: make(chan struct{})}
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("slow", func() gated { return g }, modes.SeparateThread, lifecycle.WaitForReady()),
		app.Service("api", func() api { return api{echo("api")} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"),
			gateway.Route("/", "api", gateway.Handler(func(s api) http.Handler { return s })),
			gateway.Route("/slow/", "slow", gateway.Handler(echo("slow"))),
		),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	startErr := make(chan error, 1)
	go func() { startErr <- a.Start(context.Background()) }()
	eventually(t, func() bool { return srv.Addr() != "" }, "the gateway listens while the services start")

	got := get(t, srv.Addr(), "/slow/x")
	assert.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	assert.Equal(t, http.StatusServiceUnavailable, get(t, srv.Addr(), "/").code, "api starts after slow")

	close(g.ready)
	require.NoError(t, <-startErr)
	t.Cleanup(func() { require.NoError(t, a.Stop(context.Background())) })
	assert.Equal(t, http.StatusOK, get(t, srv.Addr(), "/slow/x").code)
	assert.Equal(t, http.StatusOK, get(t, srv.Addr(), "/").code)
}

// failing fails as soon as it runs.
type failing struct{}

func (failing) Run(context.Context) error { return errFailed }

// A service that failed for good gets 503 without Retry-After: it does not
// come back by itself.
func TestFailedServiceAnswers503WithoutRetryAfter(t *testing.T) {
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("batch", func() failing { return failing{} }, modes.SeparateThread,
			lifecycle.RestartPolicy(lifecycle.Never), lifecycle.FailAlone()),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "batch", gateway.Handler(echo("batch")))),
		fx.Populate(&srv),
	)
	started(t, a)
	eventually(t, func() bool { return stateOf(a, "batch") == lifecycle.StateFailed }, "batch failed")
	got := get(t, srv.Addr(), "/")
	assert.Equal(t, http.StatusServiceUnavailable, got.code)
	_, has := got.header["Retry-After"]
	assert.False(t, has, "no Retry-After")
}

// idle runs until it is stopped, and listens nowhere.
type idle struct{}

func (idle) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// A service that runs but does not answer where its route says gets 503
// with Retry-After, and a warning in the log.
func TestRunningServiceThatDoesNotAnswer(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	var srv *gateway.Server
	a := app.New(fx.NopLogger, app.Logger(zap.New(core)), // the gateway logs to the app's logger
		app.Service("deaf", func() idle { return idle{} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "deaf", gateway.Unix(socket(t, "nobody.sock")))),
		fx.Populate(&srv),
	)
	started(t, a)
	got := get(t, srv.Addr(), "/")
	assert.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	warnings := logs.FilterMessage("gateway: a running service does not answer").All()
	require.Len(t, warnings, 1)
	assert.Equal(t, "deaf", warnings[0].ContextMap()["service"])
}
