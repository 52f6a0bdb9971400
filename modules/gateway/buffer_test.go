package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/yaml"
	"github.com/hostfx/hostfx/modules/gateway"
)

// rawly writes response as it is, in one write, and closes the
// connection.
func rawly(response string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = rw.WriteString(response)
		_ = rw.Flush()
	})
}

// brokenOff writes the head of a response of length bytes and sent of
// them, then closes the connection, as a service that dies mid-response.
func brokenOff(length, sent int) http.Handler {
	return rawly(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", length, strings.Repeat("x", sent)))
}

// chunks answers without a Content-Length, in n chunks of 1 KiB.
func chunks(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for range n {
			_, _ = io.WriteString(w, strings.Repeat("c", 1024))
			_ = http.NewResponseController(w).Flush()
		}
	})
}

// hangUp closes the connection without an answer.
func hangUp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	})
}

// A response that breaks off before its end becomes a clean 503 with
// Retry-After when the gateway holds it whole; a larger one, which passes
// through, cuts the client's connection, as nothing else can tell the
// client that it did not get all of it. Both are counted.
func TestResponseThatBreaksOff(t *testing.T) {
	reg, withRegistry := registry()
	sock := socket(t, "broken.sock")
	mux := http.NewServeMux()
	mux.Handle("/small", brokenOff(1000, 10))
	mux.Handle("/large", brokenOff(100<<10, 10))
	mux.Handle("/none", hangUp())
	mux.Handle("/chunked", chunks(3))
	mux.Handle("/chunked/whole", rawly("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	mux.Handle("/chunked/broken", rawly("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhel"))
	backend := onUnix(sock, mux)
	var srv *gateway.Server
	a := app.New(quiet, withRegistry,
		app.Service("backend", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "backend", gateway.Unix(sock))),
		fx.Populate(&srv),
	)
	started(t, a)

	for _, path := range []string{"/small", "/none", "/chunked/broken"} {
		got := get(t, srv.Addr(), path)
		assert.Equal(t, http.StatusServiceUnavailable, got.code, path)
		assert.Equal(t, "1", got.header.Get("Retry-After"), path)
	}

	require.Error(t, cut(srv.Addr(), "/large"), "the connection was cut")

	resp, err := client.Get("http://" + srv.Addr() + "/chunked")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Len(t, body, 3<<10, "a response without a Content-Length passes whole")

	got := get(t, srv.Addr(), "/chunked/whole")
	assert.Equal(t, "hello", got.body)
	assert.Equal(t, "5", got.header.Get("Content-Length"), "a chunked response that came whole with its first read is held whole")

	assert.Equal(t, map[string]float64{
		"kind=body,service=backend":     3,
		"kind=response,service=backend": 1,
	}, samples(t, reg, "hostfx_gateway_upstream_errors_total"))
}

// BufferBytes(0) passes every response through as it comes: a small
// response that breaks off cuts the connection too.
func TestBufferBytesZeroPassesThrough(t *testing.T) {
	sock := socket(t, "broken.sock")
	backend := onUnix(sock, brokenOff(1000, 10))
	var srv *gateway.Server
	a := app.New(quiet,
		app.Service("backend", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "backend", gateway.Unix(sock)), gateway.BufferBytes(0)),
		fx.Populate(&srv),
	)
	started(t, a)
	require.Error(t, cut(srv.Addr(), "/"), "the connection was cut")
}

// cut fetches path from the gateway at addr and returns the error of the
// request or of reading its body.
func cut(addr, path string) error {
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, err = io.ReadAll(resp.Body)
	return err
}

// The configuration's buffer_bytes wins over code's BufferBytes.
func TestBufferBytesFromTheConfiguration(t *testing.T) {
	sock := socket(t, "broken.sock")
	backend := onUnix(sock, brokenOff(1000, 10))
	var srv *gateway.Server
	a := app.New(quiet,
		config.Module(config.Formats(yaml.Format()), config.File(writeConfig(t, "gateway:\n  buffer_bytes: 2048\n"))),
		config.Provide[gateway.Settings]("gateway"),
		app.Service("backend", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "backend", gateway.Unix(sock)), gateway.BufferBytes(0)),
		fx.Populate(&srv),
	)
	started(t, a)
	got := get(t, srv.Addr(), "/")
	assert.Equal(t, http.StatusServiceUnavailable, got.code, "held whole, as the configuration says")
	assert.Equal(t, "1", got.header.Get("Retry-After"))
}
