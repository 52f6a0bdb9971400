package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// The benchmark binary is also every child it measures: a hostfx
// process-mode child, a raw child, and a scale worker. main asks which one
// it is before anything else.

// roleEnv names the part a re-executed raw child or worker plays.
const roleEnv = "HOSTFX_BENCH_ROLE"

// verboseEnv makes parent and children log, for debugging the benchmarks.
const verboseEnv = "HOSTFX_BENCH_VERBOSE"

// Every app with process-mode services passes app.ChildArgs naming
// itself, so that a child, which gets those arguments, builds the same app
// as its parent, as a program that always builds one app would.
const (
	spawnAppName = "spawn" // proc_spawn and child_rss
	rttAppName   = "rtt"   // proc_rtt: then the service name
	scaleAppName = "scale" // scale: then the number of services
	poolAppName  = "pool"  // pool_2_vs_1: then the number of replicas
	// warm_restart: then whether the service keeps a spare.
	restartAppName = "restart"
)

// childApp returns the app the arguments of a child name.
func childApp(args []string) (fx.Option, error) {
	switch {
	case len(args) == 1 && args[0] == spawnAppName:
		return spawnApp(), nil
	case len(args) == 2 && args[0] == rttAppName:
		return rttApp(args[1]), nil
	case len(args) == 2 && args[0] == poolAppName:
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return nil, err
		}
		return poolApp(n), nil
	case len(args) == 2 && args[0] == restartAppName:
		warm, err := strconv.ParseBool(args[1])
		if err != nil {
			return nil, err
		}
		return restartApp(warm), nil
	case len(args) == 2 && args[0] == scaleAppName:
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return nil, err
		}
		return scaleApp(modes.SeparateProcess, n), nil
	}
	return nil, fmt.Errorf("no app is named by the arguments %q", args)
}

// runHostfxChild is main in a hostfx child: the same app as the parent's,
// which App.Run turns into the one service the child was started for.
func runHostfxChild(service string) {
	trace := newChildTrace()
	services, err := childApp(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "hostfx-bench child for %q: %v\n", service, err)
		os.Exit(2)
	}
	a := app.New(quiet(), services, trace.option())
	trace.built = time.Now()
	a.Run()
}

// Raw children, re-executed by hand with one end of a socketpair as fd 3.
const (
	roleRawReady = "raw-ready" // write one byte, wait for EOF
	roleRawEcho  = "raw-echo"  // write one byte, then echo every byte until EOF
)

func runRawChild(role string) int {
	newChildTrace().write("raw", time.Now())
	control := os.NewFile(3, "control")
	if _, err := control.Write([]byte{1}); err != nil {
		fmt.Fprintln(os.Stderr, "raw child:", err)
		return 2
	}
	switch role {
	case roleRawReady:
		_, _ = io.Copy(io.Discard, control)
		return 0
	case roleRawEcho:
		conn, err := net.FileConn(control)
		if err != nil {
			fmt.Fprintln(os.Stderr, "raw child:", err)
			return 2
		}
		_ = control.Close() // conn has a duplicate of it
		// On a fresh goroutine: main's goroutine is locked to the main
		// thread by the app package, and a raw child would not be.
		done := make(chan struct{})
		go func() { defer close(done); echo(conn) }()
		<-done
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	return 2
}

// echo writes back every byte it reads until the connection ends.
func echo(conn net.Conn) {
	buf := make([]byte, 1)
	for {
		if _, err := io.ReadFull(conn, buf); err != nil {
			return
		}
		if _, err := conn.Write(buf); err != nil {
			return
		}
	}
}

func runRole(role string) int {
	switch {
	case strings.HasPrefix(role, "raw-"):
		return runRawChild(role)
	case strings.HasPrefix(role, roleScale):
		return runScaleWorker(strings.TrimPrefix(role, roleScale))
	}
	fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
	return 2
}
