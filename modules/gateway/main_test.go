package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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

// web is a service that serves HTTP on a listener of its own until it is
// stopped, and counts as started once it listens.
type web struct {
	listen  func() (net.Listener, error)
	handler http.Handler
	fail    chan error // a value sent here ends the run with it
}

func (w *web) Run(ctx context.Context) error {
	ln, err := w.listen()
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: w.handler, ReadHeaderTimeout: patience}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	lifecycle.Ready(ctx)
	var failure error
	select {
	case <-ctx.Done():
	case failure = <-w.fail:
	}
	_ = srv.Close()
	<-served
	return failure
}

// onUnix is a web service on the unix socket at path.
func onUnix(path string, h http.Handler) *web {
	return &web{
		listen: func() (net.Listener, error) {
			_ = os.Remove(path) // a socket a crashed run left behind
			return net.Listen("unix", path)
		},
		handler: h,
		fail:    make(chan error),
	}
}

// onTCP is a web service on a free TCP port of 127.0.0.1, whose address
// it returns.
func onTCP(t *testing.T, h http.Handler) (*web, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return &web{
		listen:  func() (net.Listener, error) { return net.Listen("tcp", addr) },
		handler: h,
		fail:    make(chan error),
	}, addr
}

// socketDir returns a directory for unix sockets, with a path short
// enough for a socket's address. A process-mode child re-runs the test,
// and finds the parent's directory in the environment.
func socketDir(t *testing.T) string {
	t.Helper()
	if _, child := app.InChild(); child {
		return os.Getenv("HOSTFX_GATEWAY_TEST_DIR")
	}
	dir := shortTempDir(t)
	t.Setenv("HOSTFX_GATEWAY_TEST_DIR", dir)
	return dir
}

// socket returns a path for a unix socket in a directory of its own.
func socket(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(socketDir(t), name)
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket's address.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gw")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// echo answers with its name, the request's method, path and query, and
// the headers the test looks at.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s %s host=%s xff=%s xfh=%s xfp=%s secret=%q body=%q",
			name, r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("X-Forwarded-For"),
			r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Secret"), body)
	})
}

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

// response is what a request got.
type response struct {
	code   int
	header http.Header
	body   string
}

// do sends req and reads the whole response.
func do(t *testing.T, req *http.Request) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), patience)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return response{code: resp.StatusCode, header: resp.Header, body: string(body)}
}

// get fetches path from the gateway at addr.
func get(t *testing.T, addr, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	require.NoError(t, err)
	return do(t, req)
}

// client keeps no connections between tests, so goleak finds none.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// raw sends a request as written over a connection of its own and returns
// the status line and the rest of the response as read until the gateway
// closes the connection or the response ends.
func raw(t *testing.T, addr, request string) (status string, resp *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(patience)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.Status, resp
}

// eventually polls cond until it holds or the test's patience runs out.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, patience, time.Millisecond, msg)
}

// stateOf returns the state of the named service.
func stateOf(a *app.App, service string) lifecycle.State {
	for _, st := range a.Status() {
		if st.Service == service {
			return st.State
		}
	}
	return 0
}

// errFailed ends a web service's run.
var errFailed = errors.New("failed on purpose")

// pid answers with the process's ID.
func pid() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintf(w, "pid %d", os.Getpid()) })
}
