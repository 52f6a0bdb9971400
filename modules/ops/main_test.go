package ops_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds every wait of these tests.
const patience = time.Minute

// quiet keeps the tests' output to failures.
var quiet = fx.Options(app.Logger(zap.NewNop()), fx.NopLogger)

// get fetches a path from the ops server and returns the status code and
// body.
func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, string(body)
}

// gated is a service whose readiness and stop the test drives.
type gated struct {
	ready   chan struct{} // closed to make it ready
	running chan struct{} // closed once it runs
	onStop  func()        // called when it is asked to stop, before it returns
}

func newGated() *gated { return &gated{ready: make(chan struct{}), running: make(chan struct{})} }

func (g *gated) Run(ctx context.Context) error {
	select {
	case <-g.ready:
	case <-ctx.Done():
		return nil
	}
	lifecycle.Ready(ctx)
	close(g.running)
	<-ctx.Done()
	if g.onStop != nil {
		g.onStop()
	}
	return nil
}

// idle runs until it is stopped.
type idle struct{}

func (idle) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func newIdle() idle { return idle{} }

// started starts a, and stops it when the test ends.
func started(t *testing.T, a *app.App) {
	t.Helper()
	require.NoError(t, a.Err())
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		require.NoError(t, a.Stop(ctx))
	})
}

// eventually polls cond until it holds or the test's patience runs out.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, patience, time.Millisecond, msg)
}
