package executor

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid returns the ID of the calling goroutine, as its stack trace's
// header names it. Go keeps the ID to itself; the trace is the supported
// way to read it, and costs a microsecond or two once per run.
func goid() uint64 {
	var buf [64]byte
	line := buf[:runtime.Stack(buf[:], false)] // "goroutine 18 [running]:\n..."
	line = bytes.TrimPrefix(line, []byte("goroutine "))
	if i := bytes.IndexByte(line, ' '); i > 0 {
		id, err := strconv.ParseUint(string(line[:i]), 10, 64)
		if err == nil {
			return id
		}
	}
	return 0
}

// maxDump bounds the buffer for the stacks of all goroutines.
const maxDump = 64 << 20

// goroutineStack returns the current stack of goroutine id, as runtime.Stack
// writes it, or nil if there is no such goroutine (it ended) or id is 0.
func goroutineStack(id uint64) []byte {
	if id == 0 {
		return nil
	}
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= maxDump {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	header := []byte("goroutine " + strconv.FormatUint(id, 10) + " [")
	start := 0
	if !bytes.HasPrefix(buf, header) {
		i := bytes.Index(buf, append([]byte("\n\n"), header...))
		if i < 0 {
			return nil
		}
		start = i + 2
	}
	stack := buf[start:]
	if end := bytes.Index(stack, []byte("\n\n")); end >= 0 {
		stack = stack[:end+1]
	}
	return bytes.Clone(stack)
}
