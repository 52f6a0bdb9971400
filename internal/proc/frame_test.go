package proc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []Frame{
		{Kind: KindHello, Version: Version, PID: 4242},
		{Kind: KindReady},
		{Kind: KindStartFailed, Text: "no database"},
		{Kind: KindPing, Seq: 1 << 40},
		{Kind: KindPong, Seq: 7},
		{Kind: KindStop, Deadline: 15 * time.Second},
		{Kind: KindStopped},
		{Kind: KindStopped, Text: "flush: disk full"},
		{Kind: KindExited, NoRestart: true, Text: "finished"},
		{Kind: KindExited},
		{Kind: KindFatal, Text: "panic: boom"},
		{Kind: KindAlive},
		{Kind: KindSignaled, Text: "SIGTERM"},
		{Kind: KindPanic, Text: "boom", Func: "(*main.S).Run", Stack: "goroutine 7 [running]:\nmain.(*S).Run()\n"},
		{Kind: KindPanic},
		{Kind: KindGo},
	}
	var buf bytes.Buffer
	for _, f := range frames {
		require.NoError(t, Write(&buf, f))
	}
	r := NewReader(&buf)
	for _, want := range frames {
		got, err := r.Read()
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := r.Read()
	assert.Equal(t, io.EOF, err)
}

func TestLongTextIsCut(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Frame{Kind: KindFatal, Text: strings.Repeat("x", 2*MaxFrame)}))
	f, err := NewReader(&buf).Read()
	require.NoError(t, err)
	assert.Len(t, f.Text, MaxFrame-1)
}

// A panic's report fits in a frame whatever its size: each part is cut,
// the stack at a line's end, keeping its top, where the panic is.
func TestLongPanicIsCut(t *testing.T) {
	line := "main.(*S).deep(...)\n"
	stack := "goroutine 7 [running]:\n" + strings.Repeat(line, 2*MaxFrame/len(line))
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Frame{Kind: KindPanic, Text: strings.Repeat("v", MaxFrame), Func: strings.Repeat("f", MaxFrame), Stack: stack}))
	f, err := NewReader(&buf).Read()
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("v", maxPanicText), f.Text)
	assert.Equal(t, strings.Repeat("f", maxPanicFunc), f.Func)
	assert.LessOrEqual(t, len(f.Stack), maxPanicStack)
	assert.Greater(t, len(f.Stack), maxPanicStack-len(line))
	assert.True(t, strings.HasPrefix(stack, f.Stack), "the stack's top is kept")
	assert.True(t, strings.HasSuffix(f.Stack, "\n"), "the stack is cut at a line's end")
}

func frame(n uint32, body ...byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, n), body...)
}

func TestGarbage(t *testing.T) {
	tests := []struct {
		name string
		give []byte
		want string
	}{
		{"zero length", frame(0), "frame length 0: want 1 to 65536"},
		{"4 GiB length", frame(0xFFFFFFFF, 1, 2, 3), "frame length 4294967295: want 1 to 65536"},
		{"truncated length", []byte{0, 0}, "truncated frame: the stream ended after 2 of 4 bytes of its length"},
		{"truncated frame", frame(9, byte(KindPing), 1, 2), "truncated frame: the stream ended after 3 of 9 bytes"},
		{"length alone", frame(9), "truncated frame: the stream ended after 0 of 9 bytes"},
		{"unknown kind", frame(1, 99), "unknown frame kind 99"},
		{"short hello", frame(3, byte(KindHello), 0, 1), "hello payload of 2 bytes: want 6"},
		{"ready with payload", frame(2, byte(KindReady), 1), "ready payload of 1 bytes: want 0"},
		{"bad exited flag", frame(2, byte(KindExited), 7), "exited frame needs a flag byte of 0 or 1"},
		{"panic without its parts", frame(2, byte(KindPanic), 0), "panic frame: want a value of up to 4096 bytes"},
		{"panic value past the frame", frame(5, byte(KindPanic), 0, 9, 'x', 'y'), "panic frame"},
		{"panic value too long", append(frame(1+2+5000+2, byte(KindPanic), 0x13, 0x88), append(make([]byte, 5000), 0, 0)...), "panic frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.give)).Read()
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrProtocol), "%v", err)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func FuzzRead(f *testing.F) {
	var seed bytes.Buffer
	for _, fr := range []Frame{{Kind: KindHello, Version: 1, PID: 9}, {Kind: KindPing, Seq: 3}, {Kind: KindExited, Text: "x"}, {Kind: KindFatal, Text: "panic"},
		{Kind: KindPanic, Text: "boom", Func: "f", Stack: "goroutine 1 [running]:\n"}} {
		_ = Write(&seed, fr)
	}
	f.Add(seed.Bytes())
	f.Add(frame(0xFFFFFFFF))
	f.Add(frame(5, byte(KindStop), 1, 2, 3, 4))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for {
			fr, err := r.Read()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			// Whatever decodes must encode back to the same frame.
			var buf bytes.Buffer
			if err := Write(&buf, fr); err != nil {
				t.Fatalf("re-encode %+v: %v", fr, err)
			}
			back, err := NewReader(&buf).Read()
			if err != nil || back != fr {
				t.Fatalf("round trip of %+v gave %+v, %v", fr, back, err)
			}
		}
	})
}
