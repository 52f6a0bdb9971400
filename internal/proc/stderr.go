package proc

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// stderrSink receives the child's stderr from exec's copying goroutine. It
// keeps the tail and hands whole lines to a relay goroutine, and never
// waits on the logger: lines that do not fit the queue are counted and
// dropped, so a flooding child cannot stall exec or the parent.
type stderrSink struct {
	r       *Run
	lines   chan []byte
	relayed sync.WaitGroup
	pending []byte // the start of a line not ended yet
	long    bool   // the current line outgrew tailSize; its rest is dropped
	dropped int
}

func (r *Run) newStderr() *stderrSink {
	return &stderrSink{r: r, lines: make(chan []byte, logQueue)}
}

// start relays lines to log, which names the child's service and PID;
// lines written before are queued.
func (s *stderrSink) start(log *zap.Logger) {
	s.relayed.Go(func() {
		for line := range s.lines {
			relay(log, line)
		}
	})
}

// Write is called by one goroutine, exec's.
func (s *stderrSink) Write(p []byte) (int, error) {
	s.r.tail.write(p)
	chunk := p
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.add(chunk)
			break
		}
		s.add(chunk[:i])
		s.emit()
		chunk = chunk[i+1:]
	}
	return len(p), nil
}

func (s *stderrSink) add(b []byte) {
	if len(s.pending)+len(b) > tailSize {
		s.long = true // keep the line's start; its rest is in the tail only
		b = b[:max(0, tailSize-len(s.pending))]
	}
	s.pending = append(s.pending, b...)
}

func (s *stderrSink) emit() {
	s.r.head.line(s.pending)
	line := bytes.Clone(s.pending)
	if s.long {
		line = append(line, " [line cut at 64 KiB]"...)
	}
	s.pending, s.long = s.pending[:0], false
	select {
	case s.lines <- line:
	default:
		s.dropped++
	}
}

// close relays what is left and waits for the relay to finish.
func (s *stderrSink) close() {
	if len(s.pending) > 0 {
		s.emit()
	}
	close(s.lines)
	s.relayed.Wait()
	if s.dropped > 0 {
		s.r.log.Warn("child log lines dropped: the child wrote faster than they could be logged", zap.Int("dropped", s.dropped))
	}
}

// relay logs one line of the child's stderr through log at its original
// level, or as a plain warning when it is not a log line.
func relay(log *zap.Logger, line []byte) {
	var entry map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber() // keep integers integers
	if len(line) == 0 || line[0] != '{' || dec.Decode(&entry) != nil {
		log.Warn(string(line), zap.String("stream", "stderr"))
		return
	}
	level := zapcore.InfoLevel
	if s, ok := entry["level"].(string); ok {
		_ = level.UnmarshalText([]byte(s))
	}
	if level > zapcore.ErrorLevel {
		// A child's fatal or panic line must not end the parent: zap acts on
		// those levels when it writes them.
		entry["child_level"], level = level.String(), zapcore.ErrorLevel
	}
	msg, _ := entry["msg"].(string)
	ce := log.Check(level, msg)
	if ce == nil {
		return
	}
	delete(entry, "level")
	delete(entry, "msg")
	delete(entry, "ts")
	delete(entry, "service") // the relaying logger names it
	delete(entry, "pid")
	fields := make([]zap.Field, 0, len(entry))
	for _, k := range slices.Sorted(maps.Keys(entry)) {
		v := entry[k]
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = i
			} else if f, err := n.Float64(); err == nil {
				v = f
			}
		}
		fields = append(fields, zap.Any(k, v))
	}
	ce.Write(fields...)
}

// tail keeps the last tailSize bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) write(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf)
}

// headSize bounds the crash report's head kept apart from the tail.
const headSize = 8 << 10

// crashStart reports whether l is the first line of what the Go runtime
// writes when a process dies of a panic, a fatal error, a signal or a data
// race. It runs on every line a child writes until one is, so it compares
// prefixes rather than running a regular expression.
func crashStart(l []byte) bool {
	for _, p := range [...]string{"panic: ", "fatal error: ", "WARNING: DATA RACE"} {
		if bytes.HasPrefix(l, []byte(p)) {
			return true
		}
	}
	name, _, ok := bytes.Cut(l, []byte(": ")) // SIGSEGV: segmentation violation
	return ok && len(name) > 3 && bytes.HasPrefix(name, []byte("SIG")) &&
		bytes.IndexFunc(name[3:], func(r rune) bool { return r < 'A' || r > 'Z' }) < 0
}

// crashHead keeps the start of the first Go crash report a child writes to
// stderr, which a long goroutine dump can push out of the tail.
type crashHead struct {
	mu  sync.Mutex
	buf []byte
}

// line is called with each whole line of stderr, in order.
func (h *crashHead) line(l []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buf == nil && !crashStart(l) {
		return
	}
	if room := headSize - len(h.buf); room > 0 {
		h.buf = append(h.buf, l[:min(len(l), room)]...)
		if len(h.buf) < headSize {
			h.buf = append(h.buf, '\n')
		}
	}
}

func (h *crashHead) bytes() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf)
}
