package executor

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
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
func goroutineStack(id uint64) []byte { return goroutineStacks(id, nil) }

// goroutineStacks returns the current stacks of goroutine id and of every
// goroutine that runs one of funcs (named as runtime.FuncForPC names
// them), in the order of runtime.Stack, which puts the caller's first; nil
// if there are none.
func goroutineStacks(id uint64, funcs []string) []byte {
	if id == 0 && len(funcs) == 0 {
		return nil
	}
	header := "goroutine " + strconv.FormatUint(id, 10) + " ["
	var out []byte
	for stack := range bytes.SplitSeq(allStacks(), []byte("\n\n")) {
		if !bytes.HasPrefix(stack, []byte(header)) && !runsOneOf(stack, funcs) {
			continue
		}
		if out != nil {
			out = append(out, '\n')
		}
		out = append(append(out, bytes.TrimRight(stack, "\n")...), '\n')
	}
	return out
}

// runsOneOf reports whether a goroutine's stack has a frame of one of funcs.
// A method value's name ends in -fm, its wrapper's, and the frame names the
// method.
func runsOneOf(stack []byte, funcs []string) bool {
	for _, fn := range funcs {
		if bytes.Contains(stack, []byte("\n"+strings.TrimSuffix(fn, "-fm")+"(")) {
			return true
		}
	}
	return false
}

// allStacks returns the stacks of all goroutines, each followed by a blank
// line, as runtime.Stack writes them.
func allStacks() []byte {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= maxDump {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}
