package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
)

// stream writes "one", flushes, and writes "two" once next is closed, or
// ends when the request does.
func stream(next <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "one\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-next:
			_, _ = io.WriteString(w, "two\n")
		case <-r.Context().Done():
		}
	})
}

// upgrade switches to a line protocol of its own, as a websocket does,
// and echoes each line until the client leaves.
func upgrade() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		for {
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = rw.WriteString("echo " + line)
			_ = rw.Flush()
		}
	})
}

// dialUpgrade makes an upgraded connection through the gateway at addr to
// path; the test closes it.
func dialUpgrade(t *testing.T, addr, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(patience)))
	_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, "websocket", resp.Header.Get("Upgrade"))
	return conn, br
}

// streamer serves a stream and an upgrade on a unix socket, and both in
// the app's process too.
func streamer(t *testing.T, next <-chan struct{}, opts ...gateway.Option) (*app.App, string) {
	t.Helper()
	sock := socket(t, "stream.sock")
	mux := http.NewServeMux()
	mux.Handle("/stream/", stream(next))
	mux.Handle("/ws/", upgrade())
	mux.Handle("/local/stream/", stream(next))
	mux.Handle("/local/ws/", upgrade())
	backend := onUnix(sock, mux)
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("backend", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(append([]gateway.Option{gateway.Addr("127.0.0.1:0"),
			gateway.Route("/", "backend", gateway.Unix(sock)),
			gateway.Route("/local/", "backend", gateway.Handler(mux)),
		}, opts...)...),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	require.NoError(t, a.Start(t.Context()))
	return a, srv.Addr()
}

// A streamed response reaches the client as the service flushes it, and
// an upgraded connection carries both ways.
func TestStreamsAndUpgradesPassThrough(t *testing.T) {
	for _, prefix := range []string{"", "/local"} {
		t.Run("at "+prefix+"/", func(t *testing.T) {
			next := make(chan struct{})
			a, addr := streamer(t, next)
			defer func() { require.NoError(t, a.Stop(t.Context())) }()

			resp, err := client.Get("http://" + addr + prefix + "/stream/")
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			r := bufio.NewReader(resp.Body)
			line, err := r.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "one\n", line, "the first chunk came before the second was written")
			close(next)
			rest, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, "two\n", string(rest))

			conn, br := dialUpgrade(t, addr, prefix+"/ws/")
			for _, msg := range []string{"ping\n", "pong\n"} {
				_, err = io.WriteString(conn, msg)
				require.NoError(t, err)
				line, err = br.ReadString('\n')
				require.NoError(t, err)
				assert.Equal(t, "echo "+msg, line)
			}
			require.NoError(t, conn.Close())
		})
	}
}
