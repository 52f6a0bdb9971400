package proc

import (
	"io"
	"net"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// controlPair is a connected pair of unix sockets, as the control channel.
func controlPair(t *testing.T) (parent, child *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	conn := func(fd int) *net.UnixConn {
		c, err := fdConn(fd)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() }) // the test may have closed it already
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

func TestConnFramesCarryWorkingConnections(t *testing.T) {
	parent, child := controlPair(t)
	var mine []net.Conn
	for range 3 { // back to back: the reader may get them in one read
		c, err := sendConn(parent, KindConn)
		require.NoError(t, err)
		mine = append(mine, c)
	}
	require.NoError(t, Write(parent, Frame{Kind: KindPing, Seq: 9}))

	rights := newRightsReader(child)
	r := NewReader(rights)
	for i := range 3 {
		f, err := r.Read()
		require.NoError(t, err)
		require.Equal(t, KindConn, f.Kind)
		theirs, err := rights.take(KindConn)
		require.NoError(t, err)
		// Each connection pairs with the one sendConn returned, in order.
		_, err = mine[i].Write([]byte{byte('a' + i)})
		require.NoError(t, err)
		b := make([]byte, 1)
		_, err = io.ReadFull(theirs, b)
		require.NoError(t, err)
		assert.Equal(t, byte('a'+i), b[0])
		require.NoError(t, theirs.Close())
		require.NoError(t, mine[i].Close())
	}
	f, err := r.Read()
	require.NoError(t, err)
	assert.Equal(t, Frame{Kind: KindPing, Seq: 9}, f)
	_, err = rights.take(KindConn)
	assert.ErrorIs(t, err, ErrProtocol, "no descriptor is left")
}

func TestConnFrameWithoutADescriptorIsAProtocolError(t *testing.T) {
	parent, child := controlPair(t)
	require.NoError(t, Write(parent, Frame{Kind: KindConn})) // no descriptor with it
	rights := newRightsReader(child)
	f, err := NewReader(rights).Read()
	require.NoError(t, err)
	require.Equal(t, KindConn, f.Kind)
	_, err = rights.take(KindConn)
	assert.ErrorIs(t, err, ErrProtocol)
	assert.ErrorContains(t, err, "conn frame without a descriptor")
}

func TestTooManyDescriptorsAreAProtocolError(t *testing.T) {
	parent, child := controlPair(t)
	files := make([]int, 8) // more than the reader has room for
	for i := range files {
		f, err := os.Open(os.DevNull)
		require.NoError(t, err)
		defer func() { _ = f.Close() }() // read-only /dev/null: nothing to lose
		files[i] = int(f.Fd())
	}
	frame, _ := encode(Frame{Kind: KindConn})
	_, _, err := parent.WriteMsgUnix(frame, unix.UnixRights(files...), nil)
	require.NoError(t, err)
	rights := newRightsReader(child)
	r := NewReader(rights)
	for err == nil { // the frame may come first; the truncation is reported
		_, err = r.Read()
	}
	assert.ErrorIs(t, err, ErrProtocol)
	assert.ErrorContains(t, err, "descriptors were sent beyond")
	for _, fd := range rights.fds { // those that did arrive
		_ = unix.Close(fd)
	}
}

func TestAResetChannelIsAnErrorNotAPanic(t *testing.T) {
	parent, child := controlPair(t)
	// The parent dies with a ping it never read: the child's next read
	// fails with ECONNRESET, not EOF.
	require.NoError(t, Write(child, Frame{Kind: KindPong, Seq: 1}))
	require.NoError(t, parent.Close())
	_, err := NewReader(newRightsReader(child)).Read()
	require.Error(t, err)
	assert.ErrorIs(t, err, unix.ECONNRESET)
}
