package systemd

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

func TestFromEnv(t *testing.T) {
	const pid = 42
	tests := []struct {
		name    string
		give    map[string]string
		want    unit
		wantErr string
	}{
		{name: "outside systemd", give: map[string]string{"WATCHDOG_USEC": "1000000"}, want: unit{}},
		{name: "notify", give: map[string]string{"NOTIFY_SOCKET": "/run/n"}, want: unit{socket: "/run/n"}},
		{name: "abstract", give: map[string]string{"NOTIFY_SOCKET": "@n"}, want: unit{socket: "@n"}},
		{name: "watchdog", give: map[string]string{"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "3000000"},
			want: unit{socket: "/run/n", watchdog: 3 * time.Second}},
		{name: "watchdog for us", give: map[string]string{"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "42"},
			want: unit{socket: "/run/n", watchdog: time.Millisecond}},
		{name: "watchdog for another", give: map[string]string{"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "7"},
			want: unit{socket: "/run/n"}},
		{name: "zero", give: map[string]string{"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "0"},
			wantErr: `systemd: WATCHDOG_USEC="0": want a positive whole number of microseconds`},
		{name: "too long", give: map[string]string{"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "9223372036854776"},
			wantErr: `systemd: WATCHDOG_USEC="9223372036854776": want a positive`},
		{name: "bad pid", give: map[string]string{"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "me"},
			wantErr: `systemd: WATCHDOG_PID="me": want a process id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromEnv(func(k string) string { return tt.give[k] }, pid)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// A supervisor that does not answer gets no ping; one that answers again
// does.
func TestWatchdogPingsOnlyALiveSupervisor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, conn.Close()) })
	read := func() string {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
		buf := make([]byte, 64)
		n, err := conn.Read(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}

	clock := clockwork.NewFakeClock()
	var wedged atomic.Pointer[chan struct{}] // Status waits for it to close
	answers := make(chan struct{})
	close(answers)
	wedged.Store(&answers)
	status := func() []lifecycle.Status { <-*wedged.Load(); return nil }
	core, logs := observer.New(zap.ErrorLevel)
	n := newNotifier(unit{socket: path, watchdog: 4 * time.Second}, liveness.New(status), clock, zap.New(core))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	require.NoError(t, n.ready())
	assert.Equal(t, "READY=1", read())
	require.NoError(t, clock.BlockUntilContext(ctx, 1)) // the ticker
	clock.Advance(2 * time.Second)
	assert.Equal(t, "WATCHDOG=1", read())

	stuck := make(chan struct{})
	wedged.Store(&stuck)
	clock.Advance(2 * time.Second)
	require.NoError(t, clock.BlockUntilContext(ctx, 2)) // the ticker and the probe's deadline
	clock.Advance(time.Second)
	require.Eventually(t, func() bool { return logs.Len() == 1 }, time.Minute, time.Millisecond)
	assert.Equal(t, "systemd watchdog: no ping: the supervisor did not answer", logs.All()[0].Message)
	assert.True(t, nothingQueued(t, conn), "no ping for a wedged supervisor")

	close(stuck)
	clock.Advance(time.Second) // the next tick asks again
	assert.Equal(t, "WATCHDOG=1", read())

	require.NoError(t, n.stopping())
	assert.Equal(t, "STOPPING=1", read())
}

// nothingQueued reports whether the socket holds no datagram, without
// waiting.
func nothingQueued(t *testing.T, conn *net.UnixConn) bool {
	t.Helper()
	raw, err := conn.SyscallConn()
	require.NoError(t, err)
	var rerr error
	require.NoError(t, raw.Read(func(fd uintptr) bool {
		_, _, rerr = unix.Recvfrom(int(fd), make([]byte, 64), unix.MSG_DONTWAIT)
		return true
	}))
	return errors.Is(rerr, unix.EAGAIN)
}
