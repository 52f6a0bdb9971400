package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
)

// journal records what happened, in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(line string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, line)
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

// fetched is the outcome of a request made on a goroutine of its own.
type fetched struct {
	code int
	body string
	err  error
}

func fetch(url string) <-chan fetched {
	out := make(chan fetched, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- fetched{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		out <- fetched{code: resp.StatusCode, body: string(body), err: err}
	}()
	return out
}

// On stop, the gateway stops taking connections first, lets the request
// under way finish, and only then do the services stop.
func TestStopDrainsRequestsUnderWay(t *testing.T) {
	var j journal
	entered, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
		j.add("request answered")
	})
	sock := socket(t, "slow.sock")
	backend := onUnix(sock, slow)
	var srv *gateway.Server
	a := app.New(quiet,
		app.Observe(func(e lifecycle.Event) {
			if s, ok := e.(*lifecycle.Stopping); ok {
				j.add("stopping " + s.Service)
			}
		}),
		app.Service("slow", func() *web { return backend }, modes.SeparateThread, lifecycle.WaitForReady()),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "slow", gateway.Unix(sock))),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	require.NoError(t, a.Start(t.Context()))
	addr := srv.Addr()

	answer := fetch("http://" + addr + "/")
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop(context.Background()) }()
	eventually(t, func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		return err != nil
	}, "the gateway stops taking connections")
	assert.Equal(t, lifecycle.StateRunning, stateOf(a, "slow"), "the service runs while the gateway drains")

	close(release)
	got := <-answer
	require.NoError(t, got.err)
	assert.Equal(t, http.StatusOK, got.code)
	assert.Equal(t, "done", got.body)
	require.NoError(t, <-stopped)
	assert.Equal(t, []string{"request answered", "stopping slow"}, j.all())
}

// What is still under way at the end of the drain timeout, a stream and
// an upgraded connection, is cut, and the stop goes on.
func TestDrainTimeoutCutsWhatIsLeft(t *testing.T) {
	clock := clockwork.NewFakeClock()
	never := make(chan struct{})
	a, addr := streamer(t, never, gateway.DrainTimeout(5*time.Second), gateway.WithClock(clock))

	resp, err := client.Get("http://" + addr + "/stream/")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "one\n", line)
	conn, br := dialUpgrade(t, addr, "/local/ws/")
	_, err = io.WriteString(conn, "ping\n")
	require.NoError(t, err)
	line, err = br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "echo ping\n", line)

	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1), "the gateway waits out its drain timeout")
	select {
	case err := <-stopped:
		t.Fatalf("the stop ended before the drain timeout: %v", err)
	default:
	}
	clock.Advance(5 * time.Second)
	require.NoError(t, <-stopped)

	_, err = io.ReadAll(r)
	require.Error(t, err, "the stream was cut before its end")
	_, err = br.ReadString('\n')
	assert.ErrorIs(t, err, io.EOF, "the upgraded connection was closed")
	for _, st := range a.Status() {
		assert.Equal(t, lifecycle.StateStopped, st.State)
	}
}
