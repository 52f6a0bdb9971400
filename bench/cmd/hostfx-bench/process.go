package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"time"

	"go.uber.org/fx"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/catalog"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/bench/internal/procfs"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// self is this binary, which every child re-executes.
var self = func() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "/proc/self/exe"
}()

// rawChild is the baseline of the process benchmarks: this binary
// re-executed by hand with one end of a socketpair as fd 3.
type rawChild struct {
	cmd  *exec.Cmd
	conn net.Conn
}

// spawnRaw starts a raw child and waits for its byte on fd 3.
func spawnRaw(role string) (*rawChild, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	parentEnd, childEnd := os.NewFile(uintptr(fds[0]), "control"), os.NewFile(uintptr(fds[1]), "control")
	conn, err := net.FileConn(parentEnd)
	_ = parentEnd.Close() // conn has a duplicate of it
	if err != nil {
		_ = childEnd.Close()
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	_ = childEnd.Close() // the child has its own copy
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	c := &rawChild{cmd: cmd, conn: conn}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		_ = c.cmd.Process.Kill()
		_ = c.stop()
		return nil, fmt.Errorf("raw child: ready: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return c, nil
}

// stop closes the socket, which ends the child, and waits for it; the
// child's exit says how it went.
func (c *rawChild) stop() error {
	_ = c.conn.Close()
	return c.cmd.Wait()
}

func (c *rawChild) pid() int { return c.cmd.Process.Pid }

// childPID is the PID of the child running service.
func childPID(a *app.App, service string) int {
	for _, s := range a.Status() {
		if s.Service == service {
			return s.PID
		}
	}
	return 0
}

// spawnService is the one SEPARATE_PROCESS service of proc_spawn and
// child_rss; catalog type 0 does nothing until stopped.
const spawnService = "spawn"

func spawnApp() fx.Option {
	return fx.Options(app.ChildArgs(spawnAppName), catalog.Service(spawnService, modes.SeparateProcess))
}

func benchProcSpawn(p harness.Plan, rep *report) error {
	// hostfx: start an app of one SEPARATE_PROCESS service, which returns
	// once the child reported its service started: spawn to ready. With
	// withNew, building the app counts too; with call, a first call after
	// the start, as go-plugin's start has. The stop is timed apart, as aux.
	hostfx := func(withNew, call bool) harness.Sampler {
		return func(n int) (took, stop time.Duration, err error) {
			for range n {
				begin := time.Now()
				a := app.New(quiet(), spawnApp())
				if !withNew {
					begin = time.Now()
				}
				if err := a.Start(context.Background()); err != nil {
					return 0, 0, err
				}
				if call {
					if _, err := a.Call(context.Background(), spawnService, catalog.EchoRequest); err != nil {
						return 0, 0, err
					}
				}
				ready := time.Now()
				if err := a.Stop(context.Background()); err != nil {
					return 0, 0, err
				}
				took += ready.Sub(begin)
				stop += time.Since(ready)
			}
			return took, stop, nil
		}
	}
	raw := func(n int) (took, stop time.Duration, err error) {
		for range n {
			begin := time.Now()
			c, err := spawnRaw(roleRawReady)
			if err != nil {
				return 0, 0, err
			}
			ready := time.Now()
			if err := c.stop(); err != nil {
				return 0, 0, err
			}
			took += ready.Sub(begin)
			stop += time.Since(ready)
		}
		return took, stop, nil
	}
	rs, err := harness.Measure(p, hostfx(false, false), raw, hostfx(true, false), hostfx(false, true))
	if err != nil {
		return err
	}
	rep.results["proc_spawn"] = rs[0]
	rep.results["proc_spawn_call"] = rs[3]
	rep.results["proc_spawn_raw"] = rs[1]
	rep.add(row{name: "proc_spawn", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 1.5})
	rep.add(row{name: "proc_spawn_with_new", hostfx: spread(rs[2]), baseline: spread(rs[1]), cmp: compare(rs[2], rs[1])})
	rep.add(row{name: "proc_spawn_call", hostfx: spread(rs[3]), baseline: spread(rs[1]), cmp: compare(rs[3], rs[1])})
	rep.add(row{name: "proc_spawn_overhead", hostfx: dur(rs[0].PerOp - rs[1].PerOp), baseline: "-", ratio: nan})
	rep.add(row{name: "proc_stop", hostfx: dur(rs[0].Aux), baseline: dur(rs[1].Aux), ratio: float64(rs[0].Aux) / float64(rs[1].Aux)})
	steps, err := spawnBreakdown(max(5, p.Samples*2))
	if err != nil {
		return err
	}
	rep.note("proc_spawn: hostfx is Start of a built app of one SEPARATE_PROCESS service, spawn to ready (Start returns "+
		"when the child reports its service started); proc_spawn_with_new counts building the app too, and "+
		"proc_spawn_call a first app.Call after the start, which vs_goplugin_spawn compares with go-plugin's start. The raw baseline "+
		"execs this binary until it writes one byte on fd 3. proc_stop is the "+
		"untimed stop after each: app.Stop, or closing the socket and waiting for the raw child's exit. %s", steps)
	return nil
}

// The process-mode services for the round trips. Each takes connections
// from its parent through app.Supervisor.Dial.
type (
	// rttEcho echoes on the goroutine ServeConn runs on, which is not locked
	// to an OS thread: the fastest a SEPARATE_PROCESS service can answer.
	rttEcho struct{ waits }
	// rttLocked echoes in Run itself, on the OS thread SEPARATE_PROCESS
	// locks Run to.
	rttLocked struct{ conns chan net.Conn }
	// rttRPC serves net/rpc, as go-plugin's net/rpc plugin does.
	rttRPC struct {
		waits
		rpc *rpc.Server
	}
	waits struct{}
)

func (waits) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (*rttEcho) ServeConn(conn net.Conn) { echo(conn) }

// HandleCall answers app.Call: proc_call.
func (*rttEcho) HandleCall(_ context.Context, request []byte) ([]byte, error) {
	return catalog.Echo(request)
}

func (r *rttLocked) ServeConn(conn net.Conn) { r.conns <- conn }

func (r *rttLocked) Run(ctx context.Context) error {
	select {
	case conn := <-r.conns:
		defer context.AfterFunc(ctx, func() { _ = conn.Close() })()
		echo(conn)
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

func (r *rttRPC) ServeConn(conn net.Conn) { r.rpc.ServeConn(conn) }

// Plugin is rttRPC's net/rpc receiver, named and shaped like go-plugin's.
type Plugin struct{}

// Echo returns its argument.
func (Plugin) Echo(in byte, out *byte) error {
	*out = in
	return nil
}

func newRTTRPC() *rttRPC {
	s := rpc.NewServer()
	if err := s.Register(Plugin{}); err != nil {
		panic(err)
	}
	return &rttRPC{rpc: s}
}

const (
	rttService       = "rtt"
	rttLockedService = "rtt-locked"
	rttRPCService    = "rtt-rpc"
)

// rttApp is the app of one of the round-trip services.
func rttApp(name string) fx.Option {
	stop := lifecycle.StopTimeout(5 * time.Second)
	var svc fx.Option
	switch name {
	case rttLockedService:
		svc = app.Service(name, func() *rttLocked { return &rttLocked{conns: make(chan net.Conn, 1)} }, modes.SeparateProcess, stop)
	case rttRPCService:
		svc = app.Service(name, newRTTRPC, modes.SeparateProcess, stop)
	default:
		svc = app.Service(name, func() *rttEcho { return &rttEcho{} }, modes.SeparateProcess, stop)
	}
	return fx.Options(app.ChildArgs(rttAppName, name), svc)
}

// roundTrips sends a byte and waits for it back n times.
func roundTrips(conn net.Conn) harness.Sampler {
	buf := make([]byte, 1)
	return func(n int) (time.Duration, time.Duration, error) {
		begin := time.Now()
		for range n {
			if _, err := conn.Write(buf); err != nil {
				return 0, 0, err
			}
			if _, err := io.ReadFull(conn, buf); err != nil {
				return 0, 0, err
			}
		}
		return time.Since(begin), 0, nil
	}
}

// startRTT starts an app running the named round-trip service and dials it.
func startRTT(service string) (*app.App, net.Conn, func(), error) {
	a := app.New(quiet(), rttApp(service))
	if err := a.Start(context.Background()); err != nil {
		return nil, nil, nil, err
	}
	conn, err := a.Dial(context.Background(), service)
	if err != nil {
		_ = a.Stop(context.Background())
		return nil, nil, nil, err
	}
	return a, conn, func() { _ = conn.Close(); _ = a.Stop(context.Background()) }, nil
}

// calls makes n calls of Plugin.Echo with app.Call.
func calls(a *app.App, service string) harness.Sampler {
	return func(n int) (time.Duration, time.Duration, error) {
		begin := time.Now()
		for range n {
			if _, err := a.Call(context.Background(), service, catalog.EchoRequest); err != nil {
				return 0, 0, err
			}
		}
		return time.Since(begin), 0, nil
	}
}

// rpcCalls makes n net/rpc calls of Plugin.Echo.
func rpcCalls(client *rpc.Client) harness.Sampler {
	return func(n int) (time.Duration, time.Duration, error) {
		begin := time.Now()
		for range n {
			var out byte
			if err := client.Call("Plugin.Echo", byte(1), &out); err != nil {
				return 0, 0, err
			}
		}
		return time.Since(begin), 0, nil
	}
}

func benchProcRTT(p harness.Plan, rep *report) error {
	echoApp, conn, stopEcho, err := startRTT(rttService)
	if err != nil {
		return fmt.Errorf("%s: %w", rttService, err)
	}
	defer stopEcho()
	_, lockedConn, stopLocked, err := startRTT(rttLockedService)
	if err != nil {
		return fmt.Errorf("%s: %w", rttLockedService, err)
	}
	defer stopLocked()
	_, rpcConn, stopRPC, err := startRTT(rttRPCService)
	if err != nil {
		return fmt.Errorf("%s: %w", rttRPCService, err)
	}
	defer stopRPC()
	client := rpc.NewClient(rpcConn)
	defer func() { _ = client.Close() }()
	raw, err := spawnRaw(roleRawEcho)
	if err != nil {
		return err
	}
	defer func() { _ = raw.stop() }()

	rs, err := harness.Measure(p, roundTrips(conn), roundTrips(raw.conn), roundTrips(lockedConn), rpcCalls(client),
		calls(echoApp, rttService))
	if err != nil {
		return err
	}
	rep.results["proc_rtt"] = rs[0]
	rep.results["proc_call"] = rs[4]
	rep.add(row{name: "proc_rtt", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: compare(rs[0], rs[1]), goal: 1.5})
	rep.add(row{name: "proc_rtt_locked", hostfx: spread(rs[2]), baseline: spread(rs[1]), cmp: compare(rs[2], rs[1])})
	rep.add(row{name: "proc_call", hostfx: spread(rs[4]), baseline: spread(rs[1]), cmp: compare(rs[4], rs[1])})
	rep.add(row{name: "proc_rpc", hostfx: spread(rs[3]), baseline: spread(rs[1]), cmp: compare(rs[3], rs[1])})
	rep.note("proc_rtt: a byte echoed by a SEPARATE_PROCESS service over a connection app.Dial made, echoed on the " +
		"goroutine ServeConn runs on; the baseline echoes over the socketpair a raw child inherited. proc_rtt_locked " +
		"echoes in Run itself, on the OS thread SEPARATE_PROCESS locks Run to. proc_call is one app.Call of Plugin.Echo " +
		"with a byte, which vs_goplugin_rtt compares with go-plugin's net/rpc call of the same; proc_rpc is a net/rpc call " +
		"over a Dial connection, for those who keep net/rpc.")
	return nil
}

// settle is how long a child runs before its memory is read.
const settle = 200 * time.Millisecond

func benchChildRSS(p harness.Plan, rep *report) error {
	var hostfx, raw, hostfxPss, rawPss, hostfxFaults, rawFaults []int64
	for range rssSamples(p) {
		a := app.New(quiet(), spawnApp())
		if err := a.Start(context.Background()); err != nil {
			return err
		}
		time.Sleep(settle)
		pid := childPID(a, spawnService)
		kb, err := procfs.Status(pid, "VmRSS")
		pss, err2 := procfs.Pss(pid)
		faults, err3 := procfs.MinorFaults(pid)
		if err := errors.Join(err, err2, err3, a.Stop(context.Background())); err != nil {
			return err
		}
		hostfx, hostfxPss, hostfxFaults = append(hostfx, kb), append(hostfxPss, pss), append(hostfxFaults, faults)

		c, err := spawnRaw(roleRawReady)
		if err != nil {
			return err
		}
		time.Sleep(settle)
		kb, err = procfs.Status(c.pid(), "VmRSS")
		pss, err2 = procfs.Pss(c.pid())
		faults, err3 = procfs.MinorFaults(c.pid())
		if err := errors.Join(err, err2, err3, c.stop()); err != nil {
			return err
		}
		raw, rawPss, rawFaults = append(raw, kb), append(rawPss, pss), append(rawFaults, faults)
	}
	h, r := harness.Median(hostfx), harness.Median(raw)
	rep.rss["hostfx"] = h
	rep.add(row{name: "child_rss", hostfx: kib(h), baseline: kib(r), ratio: float64(h) / float64(r)})
	rep.set("child_rss_kib", fmt.Sprint(h))
	rep.note("child_rss: VmRSS of a child %v after it started, a hostfx child running a service that waits, and a raw "+
		"child of the same binary waiting on fd 3. Alone on the machine, most of it is the binary's text, shared "+
		"between processes: Pss was %s for hostfx and %s raw. They had taken %d and %d minor page faults.",
		settle, kib(harness.Median(hostfxPss)), kib(harness.Median(rawPss)), harness.Median(hostfxFaults), harness.Median(rawFaults))
	return nil
}
