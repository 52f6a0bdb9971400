package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/fx"
	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/loop"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/internal/supervisor"
	"github.com/hostfx/hostfx/lifecycle"
)

// InChild reports whether this process is a child started to run a
// process-mode service, and which service. A program rarely needs it; a
// test may, to log differently in the child.
func InChild() (service string, ok bool) {
	if c := proc.Current(); c != nil {
		return c.Service, true
	}
	return "", false
}

// childArgs are the arguments a process-mode service's child is given.
type childArgs []string

// ChildArgs sets the arguments of the app's child processes; by default a
// child gets the parent's own arguments, so it reads the same flags. The
// child must build the same app from them.
func ChildArgs(args ...string) fx.Option { return fx.Supply(childArgs(args)) }

// Test makes the app's process-mode children re-run only the test t, so a
// child rebuilds exactly that test's app. Pass it to fxtest.New or New in
// tests that use SEPARATE_PROCESS or SEPARATE_PROCESS_ASYNC.
func Test(t interface{ Name() string }) fx.Option {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	opt := ChildArgs("-test.run=" + strings.Join(parts, "/"))
	if proc.Current() != nil {
		// The child's start runs until the parent stops it: fxtest's start
		// timeout must not end it.
		opt = fx.Options(opt, fx.StartTimeout(100*365*24*time.Hour))
	}
	return opt
}

// childControl runs this process's side of a child: it reports the
// service's start and end to the parent and obeys the parent's pings and
// stop.
type childControl struct {
	conn    *proc.Child
	host    *host
	stopReq chan struct{}

	mu        sync.Mutex
	target    *member
	hosted    bool      // App.Run drives the stop; otherwise the child does it itself
	failed    bool      // start failure reported
	readyOnce sync.Once // the parent is told the service started
	beat      *loop.View

	// signal names the SIGINT or SIGTERM sent to this child directly that
	// made it stop; the parent hears of it with the stop's report.
	signal string

	// The service's signs of life go to the parent at most once per
	// aliveEvery, a quarter of its watchdog period.
	aliveEvery time.Duration
	aliveLast  atomic.Int64 // when one last went, in Unix nanoseconds
}

// childSlack is how much longer a child's own start and stop timeouts run
// than the parent's, which kills the child when they pass.
const childSlack = 2*proc.DefaultKillGrace + time.Second

// adopt makes m this child's service and returns its start hook.
func (c *childControl) adopt(m *member) func(context.Context) error {
	svc := m.svc
	// The parent restarts with a fresh child; this one only reports. The
	// parent also owns the deadlines: it kills a child that overruns them,
	// so the child's own clocks run longer and never pre-empt it.
	svc.Settings.Policy = lifecycle.Never
	svc.Settings.StartTimeout += childSlack
	svc.Settings.StopTimeout += childSlack
	// The parent hears of the start before anything of the run's end: the
	// run may end, and supervision give up, before svc.Start returns.
	svc.OnStarted = func(*supervisor.Service) { c.started() }
	svc.OnGiveUp = func(_ *supervisor.Service, err error) {
		c.reportPanic(err)
		c.end(proc.Frame{Kind: proc.KindFatal, Text: err.Error()}, 1)
	}
	svc.OnExit = func(_ *supervisor.Service, err error) {
		f := proc.Frame{Kind: proc.KindExited}
		if err != nil {
			f.NoRestart, f.Text = true, err.Error()
		}
		c.end(f, 0)
	}
	if period := svc.Settings.Watchdog; period > 0 {
		// The parent watches the service: a Run wedged here while this
		// process answers its heartbeats misses it there.
		c.aliveEvery = period / 4
		svc.ForwardAlive = c.alive
	}
	c.mu.Lock()
	c.target = m
	c.mu.Unlock()
	return func(ctx context.Context) error {
		// Serve from the service's own start (its dependencies have
		// started), so heartbeats are answered during a long start; a stop
		// that comes meanwhile is honoured once the service has started.
		go c.conn.Serve(proc.Handler{Ping: c.ping, Stop: c.stop, Conn: c.accept, Calls: c.acceptCalls})
		if err := svc.Start(ctx); err != nil {
			c.startFailed(err)
			if !c.isHosted() {
				c.conn.Exit(1)
			}
			return err
		}
		if !c.isHosted() {
			c.stopAlone() // never returns: a test's child must not run the rest of the test
		}
		return nil
	}
}

// started tells the parent that the service started, once.
func (c *childControl) started() {
	c.readyOnce.Do(func() {
		// Before Ready: once the parent reports the service started, a
		// signal sent to this child must find it listening.
		c.watchSignals()
		_ = c.conn.Send(proc.Frame{Kind: proc.KindReady})
		c.conn.WatchEnd() // from now on, an end signal takes what the service started with it
	})
}

// alive passes a sign of life of the service on to the parent, unless one
// went recently: a service may call lifecycle.Alive on every turn of its
// work, far more often than its watchdog needs.
func (c *childControl) alive() {
	now, last := time.Now().UnixNano(), c.aliveLast.Load()
	if now-last < int64(c.aliveEvery) || !c.aliveLast.CompareAndSwap(last, now) {
		return
	}
	_ = c.conn.Send(proc.Frame{Kind: proc.KindAlive}) // a parent that is gone ends this child anyway
}

func (c *childControl) isHosted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hosted
}

// ping answers a heartbeat: from the main loop for an async service, so a
// stuck loop counts as a hung child.
func (c *childControl) ping(seq uint64) {
	pong := func() { _ = c.conn.Send(proc.Frame{Kind: proc.KindPong, Seq: seq}) }
	c.mu.Lock()
	async := c.target != nil && c.target.svc.Mode.Async()
	if async && c.beat == nil {
		c.beat = c.host.loop().Scope("hostfx.heartbeat")
	}
	beat := c.beat
	c.mu.Unlock()
	if async {
		beat.Post(pong)
		return
	}
	pong()
}

// service returns the service this child runs.
func (c *childControl) service() *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.target
}

// accept hands a connection the parent dialed to the service. The parent
// checks that the service takes connections (and calls) before it dials;
// closing one here is the last line of defence.
func (c *childControl) accept(conn net.Conn) {
	if cs, ok := c.service().svc.Instance.(ConnServer); ok {
		go cs.ServeConn(conn)
		return
	}
	_ = conn.Close() // nothing to tell: the parent sees the connection end
}

// acceptCalls answers the calls that come on a connection the parent made
// for them.
func (c *childControl) acceptCalls(conn net.Conn) {
	m := c.service()
	h, ok := m.svc.Instance.(CallHandler)
	if !ok {
		_ = conn.Close() // as in accept
		return
	}
	// Answered where the service runs, as in the app: a loop service on
	// its loop. The member gives each call its context, which ends once
	// the calls under way have finished at the stop.
	handle := func(ctx context.Context, request []byte) ([]byte, error) {
		return m.answer(ctx, m.handler(h), request)
	}
	go func() {
		if err := proc.ServeCalls(context.Background(), conn, handle); err != nil {
			fmt.Fprintf(os.Stderr, "hostfx child %q: calls: %v\n", m.spec.name, err)
		}
	}()
}

func (c *childControl) stop(time.Duration) {
	select {
	case c.stopReq <- struct{}{}:
	default:
	}
}

// end reports the service's own end and exits: the parent decides what
// happens next.
func (c *childControl) end(f proc.Frame, code int) {
	_ = c.conn.Send(f)
	c.conn.Exit(code)
}

// stopAlone waits for the parent's stop, stops the services this child
// runs in reverse order, reports and exits. It serves children whose app
// is not driven by App.Run, such as one rebuilt by a test.
func (c *childControl) stopAlone() {
	<-c.stopReq
	c.host.haltAll()
	c.host.mu.Lock()
	members := slices.Clone(c.host.members)
	c.host.mu.Unlock()
	var errs []error
	for _, m := range slices.Backward(members) {
		ctx, cancel := context.WithTimeout(context.Background(), m.svc.Settings.StopTimeout/2)
		m.stopping(ctx) // calls under way finish first, as under App.Run
		cancel()
		errs = append(errs, m.svc.Stop(context.Background()))
	}
	c.host.loop().Stop()
	c.stopped(errors.Join(errs...))
	c.conn.Exit(0)
}

// reportPanic sends the panic behind err, if there is one, to the parent,
// which then has its stack whatever this child's logger does with it.
func (c *childControl) reportPanic(err error) {
	if f, ok := proc.PanicReport(err); ok {
		_ = c.conn.Send(f)
	}
}

// startFailed tells the parent why the child did not start, once.
func (c *childControl) startFailed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.failed {
		c.failed = true
		c.reportPanic(err)
		_ = c.conn.Send(proc.Frame{Kind: proc.KindStartFailed, Text: err.Error()})
	}
}

// watchSignals makes SIGINT or SIGTERM sent to this child directly stop
// its service in order, as App.Run stops an app on them, and has the stop's
// report tell the parent why, so it reports an explained end rather than a
// crash. A child's process group keeps a terminal's Ctrl-C out: such a
// signal comes from someone who meant this child. It listens once the
// service has started, not from the child's start: taking a signal costs a
// young process an OS thread, and before the start a signal fails it (the
// parent reports that as the start's failure). Measured against a spawn,
// the thread is lost in the noise, so this need not wait until after Ready
// as WatchEnd does.
func (c *childControl) watchSignals() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	go func() {
		c.signaled(<-sigs)
		// As the parent's stop; under App.Run its own signal handling may
		// see the signal first, and stops the app just the same.
		c.stop(0)
	}()
}

// signaled notes the signal that made this child stop, for the stop's
// report; the first one noted is the one.
func (c *childControl) signaled(sig os.Signal) {
	s, ok := sig.(unix.Signal)
	if !ok {
		return
	}
	c.mu.Lock()
	if c.signal == "" {
		c.signal = unix.SignalName(s)
	}
	c.mu.Unlock()
}

// stopped tells the parent how the ordered stop went, and why it came
// when a signal sent to this child started it.
func (c *childControl) stopped(err error) {
	c.mu.Lock()
	sig := c.signal
	c.mu.Unlock()
	if sig != "" {
		_ = c.conn.Send(proc.Frame{Kind: proc.KindSignaled, Text: sig})
	}
	f := proc.Frame{Kind: proc.KindStopped}
	if err != nil {
		f.Text = fmt.Sprint(err)
	}
	_ = c.conn.Send(f)
}
