package modes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hostfx/hostfx/internal/names"
)

// ExecutionMode says where a service runs and how it is isolated.
// The zero value is not a mode; it means "not set".
type ExecutionMode uint8

// The five execution modes. Their String forms are the names used in
// configuration files and logs.
const (
	// MainEventLoopAsync runs the service's callbacks on the app's main
	// event loop, shared with every other service in this mode. Under
	// app.Run called from main, that loop runs on the process's main OS
	// thread. Callbacks never run concurrently, so services on the main
	// loop share state without locks.
	MainEventLoopAsync ExecutionMode = iota + 1
	// SeparateThread runs the blocking Run entry point on a goroutine
	// locked to its own OS thread for its whole life; the thread is
	// discarded when Run returns.
	SeparateThread
	// SeparateThreadAsync runs the service on a private event loop on its
	// own locked OS thread, so a stall there never delays the main loop.
	SeparateThreadAsync
	// SeparateProcess runs Run in a child process: the same binary
	// re-executed, supervised over an inherited socketpair.
	SeparateProcess
	// SeparateProcessAsync runs RunAsync on an event loop on the main
	// thread of a child process.
	SeparateProcessAsync
)

var modeNames = [...]string{
	MainEventLoopAsync:   "MAIN_EVENT_LOOP_ASYNC",
	SeparateThread:       "SEPARATE_THREAD",
	SeparateThreadAsync:  "SEPARATE_THREAD_ASYNC",
	SeparateProcess:      "SEPARATE_PROCESS",
	SeparateProcessAsync: "SEPARATE_PROCESS_ASYNC",
}

// ErrUnknownMode is wrapped by every error that rejects a mode name or value.
var ErrUnknownMode = errors.New("unknown execution mode")

// Modes lists every execution mode in declaration order.
func Modes() []ExecutionMode {
	return []ExecutionMode{MainEventLoopAsync, SeparateThread, SeparateThreadAsync, SeparateProcess, SeparateProcessAsync}
}

// String returns the mode's name, such as "SEPARATE_THREAD".
func (m ExecutionMode) String() string {
	if m.Valid() {
		return modeNames[m]
	}
	return fmt.Sprintf("ExecutionMode(%d)", uint8(m))
}

// Valid reports whether m is one of the five modes.
func (m ExecutionMode) Valid() bool {
	return m >= MainEventLoopAsync && m <= SeparateProcessAsync
}

// Async reports whether the mode calls RunAsync on an event loop rather than
// the blocking Run.
func (m ExecutionMode) Async() bool {
	return m == MainEventLoopAsync || m == SeparateThreadAsync || m == SeparateProcessAsync
}

// Process reports whether the mode runs the service in a child process.
func (m ExecutionMode) Process() bool {
	return m == SeparateProcess || m == SeparateProcessAsync
}

// ParseMode reads a mode name. It ignores case and accepts snake, kebab and
// camel spellings: "SEPARATE_THREAD", "separate-thread" and "separateThread"
// all name SeparateThread.
func ParseMode(s string) (ExecutionMode, error) {
	key := names.Key(s)
	for _, m := range Modes() {
		if names.Key(modeNames[m]) == key {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want one of %s", ErrUnknownMode, s, strings.Join(modeNames[1:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (m ExecutionMode) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownMode, uint8(m))
	}
	return []byte(modeNames[m]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, so configuration files
// can name a mode.
func (m *ExecutionMode) UnmarshalText(text []byte) error {
	parsed, err := ParseMode(string(text))
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

// Runner is the blocking entry point used by SeparateThread and
// SeparateProcess. Run returns when ctx is cancelled or the work ends;
// a non-nil error is a crash.
type Runner interface {
	Run(ctx context.Context) error
}

// AsyncRunner is the event-loop entry point used by the three *_ASYNC modes.
// RunAsync runs on the loop; it only schedules work on loop and returns
// without blocking. A non-nil error means the service failed to start.
type AsyncRunner interface {
	RunAsync(ctx context.Context, loop Loop) error
}
