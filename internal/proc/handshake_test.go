package proc

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChildFramesOrder(t *testing.T) {
	hello := Frame{Kind: KindHello, Version: Version}
	tests := []struct {
		name string
		give []Frame
		want string // the error of the last frame; "" for none
	}{
		{"hello, ready, pong, stopped", []Frame{hello, {Kind: KindReady}, {Kind: KindPong}, {Kind: KindStopped}}, ""},
		{"signs of life", []Frame{hello, {Kind: KindReady}, {Kind: KindAlive}, {Kind: KindAlive}}, ""},
		{"stopped by a signal", []Frame{hello, {Kind: KindReady}, {Kind: KindSignaled, Text: "SIGTERM"}, {Kind: KindStopped}}, ""},
		{"start failed", []Frame{hello, {Kind: KindStartFailed, Text: "no db"}}, ""},
		{"ready first", []Frame{{Kind: KindReady}}, "protocol error: first frame is ready, want hello"},
		{"another version", []Frame{{Kind: KindHello, Version: Version + 1}}, "protocol error: child speaks version 2, want 1"},
		{"a second hello", []Frame{hello, hello}, "protocol error: unexpected hello from the child"},
		{"a parent's frame", []Frame{hello, {Kind: KindPing}}, "protocol error: unexpected ping from the child"},
		{"the parent's go-ahead", []Frame{hello, {Kind: KindGo}}, "protocol error: unexpected go from the child"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c childFrames
			var err error
			for _, f := range tt.give {
				require.NoError(t, err, "only the last frame may fail")
				err = c.check(f)
			}
			if tt.want == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.want)
			}
		})
	}
}

// FuzzHandshake feeds the parent's reader of a child's control channel
// whatever a child might write: a hello and what follows it. It must end
// in a clean EOF or a protocol error, never a panic, and must take a child
// for ready only after a hello in this protocol's version.
func FuzzHandshake(f *testing.F) {
	var good bytes.Buffer
	for _, fr := range []Frame{{Kind: KindHello, Version: Version, PID: 42}, {Kind: KindReady}, {Kind: KindPong, Seq: 1},
		{Kind: KindStopped, Text: "flush: disk full"}} {
		_ = Write(&good, fr)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-3]) // cut off mid-frame
	f.Add(good.Bytes()[:13])           // the hello alone, cut
	var wrong bytes.Buffer
	_ = Write(&wrong, Frame{Kind: KindReady})
	_ = Write(&wrong, Frame{Kind: KindHello, Version: Version})
	f.Add(wrong.Bytes())
	var twice bytes.Buffer
	_ = Write(&twice, Frame{Kind: KindHello, Version: Version})
	_ = Write(&twice, Frame{Kind: KindHello, Version: Version})
	_ = Write(&twice, Frame{Kind: KindReady})
	f.Add(twice.Bytes())
	f.Add(frame(7, byte(KindHello), 0, 2, 0, 0, 0, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &Run{ready: make(chan struct{})}
		frames := make(chan Frame, len(data)/5+1) // a frame takes at least 5 bytes
		err := r.readChild(NewReader(bytes.NewReader(data)), frames)
		close(frames)
		if !errors.Is(err, io.EOF) && !errors.Is(err, ErrProtocol) {
			t.Fatalf("the stream ended with %v: want io.EOF or a protocol error", err)
		}
		var got []Frame
		for fr := range frames {
			got = append(got, fr)
		}
		if len(got) > 0 && (got[0].Kind != KindHello || got[0].Version != Version) {
			t.Fatalf("first frame let through is %+v: want a hello of version %d", got[0], Version)
		}
		readyAt := -1
		for i, fr := range got {
			if i > 0 && fr.Kind == KindHello {
				t.Fatalf("a second hello was let through at %d", i)
			}
			if fr.Kind == KindReady && readyAt < 0 {
				readyAt = i
			}
		}
		select {
		case <-r.ready:
			if readyAt < 1 {
				t.Fatalf("ready without a ready frame after a good hello: %+v", got)
			}
		default:
			if readyAt >= 0 {
				t.Fatalf("a ready frame was let through but the run is not ready: %+v", got)
			}
		}
	})
}
