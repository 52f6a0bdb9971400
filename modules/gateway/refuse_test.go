package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
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

// limited starts an app whose gateway has the given options and routes
// everything under /echo/ to a service that echoes, and all of
// shop.example to another; it returns the gateway's address.
func limited(t *testing.T, opts ...gateway.Option) string {
	t.Helper()
	sock := socket(t, "echo.sock")
	backend := onUnix(sock, echo("echo"))
	var srv *gateway.Server
	opts = append([]gateway.Option{
		gateway.Addr("127.0.0.1:0"),
		gateway.Route("/echo/", "echo", gateway.Unix(sock)),
		gateway.Route("shop.example/", "echo", gateway.Unix(sock)),
	}, opts...)
	a := app.New(quiet,
		app.Service("echo", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(opts...),
		fx.Populate(&srv),
	)
	started(t, a)
	return srv.Addr()
}

// The gateway is nobody's open proxy: only its routes are reachable.
func TestOnlyRoutesAreReachable(t *testing.T) {
	addr := limited(t)
	tests := []struct {
		name, give string
		want       string
	}{
		{name: "a route", give: "GET /echo/x HTTP/1.1\r\nHost: any.example\r\n\r\n", want: "200 OK"},
		{name: "a host's route", give: "GET /other HTTP/1.1\r\nHost: shop.example\r\n\r\n", want: "200 OK"},
		{name: "no route", give: "GET /other HTTP/1.1\r\nHost: any.example\r\n\r\n", want: "404 Not Found"},
		{name: "full URL", give: "GET http://shop.example/echo/x HTTP/1.1\r\nHost: shop.example\r\n\r\n", want: "400 Bad Request"},
		{name: "full URL elsewhere", give: "GET http://169.254.169.254/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", want: "400 Bad Request"},
		{name: "CONNECT", give: "CONNECT shop.example:443 HTTP/1.1\r\nHost: shop.example:443\r\n\r\n", want: "405 Method Not Allowed"},
		{name: "OPTIONS *", give: "OPTIONS * HTTP/1.1\r\nHost: shop.example\r\n\r\n", want: "400 Bad Request"},
		{name: "dot dot", give: "GET /echo/../admin HTTP/1.1\r\nHost: any.example\r\n\r\n", want: "400 Bad Request"},
		{name: "escaped dot dot", give: "GET /echo/%2e%2e/admin HTTP/1.1\r\nHost: any.example\r\n\r\n", want: "400 Bad Request"},
		{name: "double slash", give: "GET //echo/x HTTP/1.1\r\nHost: any.example\r\n\r\n", want: "400 Bad Request"},
		{name: "no Host", give: "GET /echo/x HTTP/1.1\r\n\r\n", want: "400 Bad Request: missing required Host header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _ := raw(t, addr, tt.give)
			assert.Equal(t, tt.want, status)
		})
	}
}

func TestBodyAndHeaderLimits(t *testing.T) {
	addr := limited(t, gateway.MaxBodyBytes(10), gateway.MaxHeaderBytes(1024))
	post := func(body io.Reader, length int64) response {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/echo/", body)
		require.NoError(t, err)
		req.ContentLength = length
		return do(t, req)
	}
	got := post(strings.NewReader("0123456789"), 10)
	assert.Equal(t, http.StatusOK, got.code)
	assert.Contains(t, got.body, `body="0123456789"`)

	got = post(strings.NewReader("0123456789A"), 11)
	assert.Equal(t, http.StatusRequestEntityTooLarge, got.code, "told by Content-Length")

	got = post(io.MultiReader(strings.NewReader("01234"), strings.NewReader("56789A")), -1)
	assert.Equal(t, http.StatusRequestEntityTooLarge, got.code, "found while the body is passed on")
	assert.Equal(t, "413 Request Entity Too Large: the body has more than 10 bytes\n", got.body)

	status, _ := raw(t, addr, "GET /echo/ HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 8<<10)+"\r\n\r\n")
	assert.Equal(t, "431 Request Header Fields Too Large", status)
}

// A client that sends its headers or its body too slowly is dropped.
func TestSlowClients(t *testing.T) {
	addr := limited(t, gateway.HeaderTimeout(50*time.Millisecond), gateway.BodyTimeout(50*time.Millisecond))

	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(patience)))
	_, err = io.WriteString(conn, "GET /echo/ HTTP/1.1\r\nHost: x\r\n") // and never the end of the headers
	require.NoError(t, err)
	rest, err := io.ReadAll(conn)
	require.NoError(t, err, "the gateway closes the connection")
	assert.NotContains(t, string(rest), "200 OK")

	body, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = body.Close() }()
	require.NoError(t, body.SetDeadline(time.Now().Add(patience)))
	_, err = io.WriteString(body, "POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01") // and never the rest
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(body), nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
}
