package proc

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/modes"
)

// fakeChildEnv makes this test binary act as a misbehaving child.
const fakeChildEnv = "PROC_FAKE_CHILD"

// roleEnv makes this test binary act as an app with one real child, for
// tests that must kill the app.
const roleEnv = "PROC_TEST_ROLE"

func TestMain(m *testing.M) {
	if c := Current(); c != nil {
		runChild(c) // a real child, marked as one: it speaks for itself
		return
	}
	if os.Getenv(roleEnv) == "app" {
		runApp()
		return
	}
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
	case "signaled": // stopped in order on a SIGTERM of its own
		ready()
		_ = Write(control, Frame{Kind: KindSignaled, Text: "SIGTERM"})
		_ = Write(control, Frame{Kind: KindStopped})
		os.Exit(0)
	case "signaled-stop-failed":
		ready()
		_ = Write(control, Frame{Kind: KindSignaled, Text: "SIGINT"})
		_ = Write(control, Frame{Kind: KindStopped, Text: "flush: disk full"})
		os.Exit(0)
	case "recovered-panic": // reports a panic it recovered, and logs nothing of it
		ready()
		f, _ := PanicReport(&modes.PanicError{Value: "boom in Run", Func: "(*fake).Run", Stack: []byte("goroutine 9 [running]:\nfake.(*S).Run()\n")})
		_ = Write(control, f)
		_ = Write(control, Frame{Kind: KindFatal, Text: "panic in (*fake).Run: boom in Run"})
		os.Exit(1)
	case "constructor-panic":
		hello()
		_ = newDatabase() // before the service is ready, as an app builds its graph
	}
}

// newDatabase stands for a user's constructor that panics.
func newDatabase() any { panic("no database configured") }

// runChild runs a real child's service, named for what it does: it starts
// a grandchild, "sleep 600", reports both PIDs on stderr and serves the
// parent. A "spawner" stops when asked; an "overrunner" never does, and
// exits at once on SIGTERM saying "second signal", as an app in a child
// would; a "ticker" never does either, and sends signs of life.
func runChild(c *Child) {
	sleep := exec.Command("sleep", "600")
	if err := sleep.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "start the grandchild: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "child %d grandchild %d\n", os.Getpid(), sleep.Process.Pid)
	if c.Service == "overrunner" {
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		go func() {
			<-term
			fmt.Fprintln(os.Stderr, "second signal: exiting without waiting")
			os.Exit(1)
		}()
	}
	_ = c.Send(Frame{Kind: KindReady})
	if c.Service == "ticker" { // a service with a watchdog, which shows life
		go func() {
			for range time.Tick(10 * time.Millisecond) {
				_ = c.Send(Frame{Kind: KindAlive})
			}
		}()
	}
	c.WatchEnd() // as an app's child does once its service has started
	c.Serve(Handler{
		Ping: func(seq uint64) { _ = c.Send(Frame{Kind: KindPong, Seq: seq}) },
		Stop: func(time.Duration) {
			if c.Service == "spawner" {
				_ = sleep.Process.Kill()
				_ = c.Send(Frame{Kind: KindStopped})
				os.Exit(0)
			}
		},
		// The child takes no connections here: each is closed at once,
		// and an error closing it changes nothing.
		Conn:  func(conn net.Conn) { _ = conn.Close() },
		Calls: func(conn net.Conn) { _ = conn.Close() },
	})
}

// runApp acts as an app with one process-mode service, "spawner", whose
// child's stderr it relays to its own; it runs until it is killed.
func runApp() {
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stderr), zapcore.InfoLevel))
	e := Executor{Log: log, Args: []string{"-test.run=^$"}, App: "proc.test"}
	r := e.Launch(executor.Spec{Name: "spawner", StopTimeout: time.Second})
	<-r.Ready()
	select {}
}
