package proc

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// fakeChildEnv makes this test binary act as a misbehaving child.
const fakeChildEnv = "PROC_FAKE_CHILD"

func TestMain(m *testing.M) {
	how := os.Getenv(fakeChildEnv)
	if how == "" {
		goleak.VerifyTestMain(m)
		return
	}
	control := os.NewFile(controlFD, "control")
	switch how {
	case "wrong-first":
		_ = Write(control, Frame{Kind: KindReady})
	case "wrong-version":
		_ = Write(control, Frame{Kind: KindHello, Version: Version + 1, PID: uint32(os.Getpid())})
	case "stray-frame":
		_ = Write(control, Frame{Kind: KindHello, Version: Version, PID: uint32(os.Getpid())})
		_ = Write(control, Frame{Kind: KindStop})
	default:
		crash(how, control)
	}
	select {} // the parent must kill it
}

// crash makes a fake child that says hello die as how says.
func crash(how string, control *os.File) {
	hello := func() { _ = Write(control, Frame{Kind: KindHello, Version: Version, PID: uint32(os.Getpid())}) }
	ready := func() { hello(); _ = Write(control, Frame{Kind: KindReady}) }
	fmt.Fprintln(os.Stderr, "an ordinary log line before the end")
	switch how {
	case "panic":
		ready()
		done := make(chan struct{})
		go func() { // a goroutine of the service's own: nothing recovers it
			defer close(done)
			panic("boom in a goroutine")
		}()
		<-done
	case "log-fatal":
		ready()
		log.Fatal("cannot reach the database")
	case "fatal-error":
		ready()
		var mu sync.Mutex
		mu.Unlock() // a fatal error of the runtime: nothing can recover it
	case "truncated-exit": // dies mid-frame
		ready()
		_, _ = control.Write([]byte{0, 0, 0, 9, byte(KindPong), 1})
		os.Exit(0)
	case "truncated-close": // closes its channel mid-frame and lives on
		ready()
		_, _ = control.Write([]byte{0, 0, 0, 9, byte(KindPong), 1})
		_ = control.Close()
	case "truncated-stall": // stops mid-frame and lives on, its channel open
		ready()
		_, _ = control.Write([]byte{0, 1, 0, 0, byte(KindFatal), 'x'})
	case "truncated-head": // dies inside a frame's length
		ready()
		_, _ = control.Write([]byte{0, 0})
		os.Exit(0)
	case "constructor-panic":
		hello()
		_ = newDatabase() // before the service is ready, as an app builds its graph
	}
}

// newDatabase stands for a user's constructor that panics.
func newDatabase() any { panic("no database configured") }
