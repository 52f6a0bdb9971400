package app_test

import (
	"context"
	"errors"
	"net"
	"net/rpc"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// Answer is the net/rpc receiver a dialable child serves.
type Answer struct{}

// Where tells the caller which process answered, and echoes its argument.
func (Answer) Where(in string, out *string) error {
	*out = in + " from " + strconv.Itoa(os.Getpid())
	return nil
}

// dialable serves net/rpc on every connection its app dials.
type dialable struct{ rpc *rpc.Server }

func newDialable() *dialable {
	s := rpc.NewServer()
	if err := s.Register(Answer{}); err != nil {
		panic(err)
	}
	return &dialable{rpc: s}
}

func (d *dialable) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (d *dialable) ServeConn(conn net.Conn)       { d.rpc.ServeConn(conn) }

// closed is a process-mode service that takes no connections.
type closed struct{}

func (closed) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func TestDialReachesTheServiceInItsChild(t *testing.T) {
	var sup *app.Supervisor
	a, _, _ := processApp(t,
		app.Service("answer", newDialable, modes.SeparateProcess),
		app.Service("closed", func() closed { return closed{} }, modes.SeparateProcess),
		app.Service("local", leaf[[1]byte], modes.SeparateThread),
		fx.Populate(&sup),
	)
	if _, child := app.InChild(); !child {
		_, err := sup.Dial(t.Context(), "answer")
		require.ErrorContains(t, err, `service "answer" is idle, not running`, "before the start")
	}
	a.RequireStart() // in a child, this runs the child's service until the parent stops it

	for i := range 3 { // each dial is a connection of its own
		conn, err := sup.Dial(t.Context(), "answer")
		require.NoError(t, err)
		client := rpc.NewClient(conn)
		var reply string
		require.NoError(t, client.Call("Answer.Where", "call "+strconv.Itoa(i+1), &reply))
		assert.Equal(t, "call "+strconv.Itoa(i+1)+" from "+strconv.Itoa(servicePID(t, sup, "answer")), reply)
		assert.NotContains(t, reply, " from "+strconv.Itoa(os.Getpid())+"", "answered by the child, not this process")
		require.NoError(t, client.Close())
	}

	_, err := sup.Dial(t.Context(), "closed")
	assert.ErrorIs(t, err, app.ErrNotDialable)
	assert.ErrorContains(t, err, `service "closed": app_test.closed has no method ServeConn(net.Conn)`)
	_, err = sup.Dial(t.Context(), "local")
	assert.ErrorIs(t, err, app.ErrNotDialable)
	assert.ErrorContains(t, err, `service "local": *app_test.node[[1]uint8] has no method ServeConn`)
	_, err = sup.Dial(t.Context(), "nobody")
	assert.ErrorIs(t, err, app.ErrNotDialable)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = sup.Dial(ctx, "answer")
	assert.ErrorIs(t, err, context.Canceled)

	a.RequireStop()
	_, err = sup.Dial(t.Context(), "answer")
	assert.ErrorContains(t, err, `service "answer" is stopped, not running`)
	assert.ErrorIs(t, err, app.ErrNotRunning)
	assert.False(t, errors.Is(err, app.ErrNotDialable), "a stopped service may be dialed once it runs again")
}

// servicePID is the pid of the child that runs service now.
func servicePID(t *testing.T, sup *app.Supervisor, service string) int {
	t.Helper()
	for _, s := range sup.Status() {
		if s.Service == service {
			return s.PID
		}
	}
	t.Fatalf("no service %q", service)
	return 0
}
