package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/internal/supervisor"
	"github.com/hostfx/hostfx/lifecycle"
)

// A call or a connection goes to a service by its name, the same way in
// every mode: the router picks the service, or among replicas the running
// one with the fewest calls under way, and reaches it where it runs: in
// its child over the control channel, on its loop for a loop service, or
// on the caller's goroutine for a thread service.

// member is a service the router can send to.
type member struct {
	spec  *spec
	svc   *supervisor.Service
	calls atomic.Int64 // calls under way

	mu       sync.Mutex
	ctx      context.Context // HandleCall's in this process: ends when the service is asked to stop
	cancel   context.CancelFunc
	handling int           // HandleCall calls running in this process
	drained  chan struct{} // closed when handling drops to 0, while a stop waits for that
}

func newMember(s *spec, svc *supervisor.Service) *member {
	m := &member{spec: s, svc: svc}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// starting gives the member a fresh context, for a start after a stop.
func (m *member) starting() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		m.ctx, m.cancel = context.WithCancel(context.Background())
	}
}

// stopping lets the calls running in this process finish, within ctx,
// and then ends their context: a service's callers stop before it, so
// what they asked is answered.
func (m *member) stopping(ctx context.Context) {
	m.mu.Lock()
	var drained chan struct{}
	if m.handling > 0 {
		m.drained = make(chan struct{})
		drained = m.drained
	}
	m.mu.Unlock()
	if drained != nil {
		select {
		case <-drained:
		case <-ctx.Done():
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancel()
}

// handler wraps the service's HandleCall so that each call runs with the
// member's context and is counted, for a stop to wait for it. A call that
// comes once the stop has ended that context is not taken.
func (m *member) handler(h CallHandler) proc.CallHandler {
	return func(_ context.Context, request []byte) ([]byte, error) {
		m.mu.Lock()
		ctx := m.ctx
		if ctx.Err() != nil {
			// The service is stopping and has let its last calls finish:
			// one that comes now, such as one its caller gave up on while
			// it was on its way, is not taken.
			m.mu.Unlock()
			return nil, fmt.Errorf("service %q is stopping: %w", m.spec.name, ErrNotRunning)
		}
		m.handling++
		m.mu.Unlock()
		defer func() {
			m.mu.Lock()
			if m.handling--; m.handling == 0 && m.drained != nil {
				close(m.drained)
				m.drained = nil
			}
			m.mu.Unlock()
		}()
		return h.HandleCall(ctx, request)
	}
}

// join lists m under its name and, for a replica, under its
// registration's name.
func (h *host) join(m *member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routes[m.spec.name] = append(h.routes[m.spec.name], m)
	if m.spec.replica > 0 {
		h.routes[m.spec.decl.name] = append(h.routes[m.spec.decl.name], m)
	}
}

// route picks the member to reach for a.
func (h *host) route(ctx context.Context, name string, a access) (*member, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: service %q: %w", a.op, name, err)
	}
	h.mu.Lock()
	members := h.routes[name]
	h.mu.Unlock()
	if len(members) == 0 && h.child != nil {
		return nil, fmt.Errorf("%s: service %q: a child process reaches only its own service and what that builds: %w", a.op, name, a.errNot)
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("%s: no service is called %q: %w", a.op, name, a.errNot)
	}
	s := members[0].spec
	switch {
	case s.typ.Kind() != reflect.Interface && !s.typ.Implements(a.iface):
		return nil, fmt.Errorf("%s: service %q: %v has no method %s, so it %s: %w", a.op, name, s.typ, a.method, a.lacks, a.errNot)
	case h.child != nil && s.mode.Process():
		return nil, fmt.Errorf("%s: service %q: a child process cannot reach its siblings: %w", a.op, name, a.errNot)
	}
	// The running member with the fewest calls under way; ties go round,
	// so calls one after another spread too.
	var best *member
	first := int(h.turn.Add(1))
	for i := range members {
		m := members[(first+i)%len(members)]
		if m.svc.State() == lifecycle.StateRunning && (best == nil || m.calls.Load() < best.calls.Load()) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%s: service %q is %v, %w", a.op, name, members[0].svc.State(), ErrNotRunning)
	}
	return best, nil
}

// remote returns the child the member runs in, held by a lease until the
// call or connection ends, so that a replacement lets it finish before it
// stops that child; or nil when the member runs in this process.
func (m *member) remote(h *host) (*proc.Run, supervisor.Lease, error) {
	if !m.spec.mode.Process() || h.child != nil {
		return nil, supervisor.Lease{}, nil
	}
	lease := m.svc.Use()
	run, ok := lease.Run().(*proc.Run)
	if !ok {
		lease.End()
		return nil, supervisor.Lease{}, fmt.Errorf("service %q has no child yet: %w", m.spec.name, ErrNotRunning)
	}
	return run, lease, nil
}

// call sends request to the member where it runs.
func (m *member) call(ctx context.Context, h *host, request []byte) ([]byte, error) {
	m.calls.Add(1)
	defer m.calls.Add(-1)
	if run, lease, err := m.remote(h); run != nil || err != nil {
		if err != nil {
			return nil, err
		}
		defer lease.End()
		return run.Call(ctx, request)
	}
	if len(request) > MaxCallSize {
		return nil, fmt.Errorf("service %q: request of %d bytes: at most %d", m.spec.name, len(request), MaxCallSize)
	}
	handler, ok := m.svc.Instance.(CallHandler)
	if !ok {
		return nil, fmt.Errorf("service %q answers no calls: %w", m.spec.name, ErrNotCallable)
	}
	return m.answer(ctx, m.handler(handler), request)
}

// answer runs handle where the service runs in this process: on its loop,
// among its own callbacks, for a loop service; on the caller's goroutine
// for a thread service, or on one of its own when ctx can end first. A
// caller already on the loop, such as another service of the main loop, is
// answered at once, as waiting for the loop there would wait forever. A
// panic or an error of handle, or a response over MaxCallSize, is a
// *proc.HandlerError: an answer, as from a child.
func (m *member) answer(ctx context.Context, handle proc.CallHandler, request []byte) ([]byte, error) {
	answer := func() ([]byte, error) {
		var notTaken error // a call the service did not take is no answer
		resp, failure, failed := proc.Answer(ctx, func(ctx context.Context, request []byte) ([]byte, error) {
			resp, err := handle(ctx, request)
			if errors.Is(err, ErrNotRunning) {
				notTaken = err
			}
			return resp, err
		}, request)
		if notTaken != nil {
			return nil, notTaken
		}
		if !failed && len(resp) > MaxCallSize {
			failure, failed = fmt.Sprintf("response of %d bytes: at most %d", len(resp), MaxCallSize), true
		}
		if failed {
			return nil, &proc.HandlerError{Message: failure}
		}
		return resp, nil
	}
	if loop, ok := m.svc.Current().(loopRun); ok && !onThread(loop) {
		return await(ctx, func(done func([]byte, error)) (<-chan struct{}, bool) {
			return loop.PostAwaited(func() { done(answer()) })
		}, m.spec.name, true)
	}
	if ctx.Done() == nil {
		return answer() // nothing can cut it short: no goroutine needed
	}
	return await(ctx, func(done func([]byte, error)) (<-chan struct{}, bool) {
		go func() { done(answer()) }()
		return nil, true
	}, m.spec.name, false)
}

// loopRun is a run of a loop service, which can run a function among the
// service's callbacks.
type loopRun interface {
	PostAwaited(func()) (<-chan struct{}, bool)
	TID() int
}

// onThread reports whether the caller runs on the run's thread: a loop's
// goroutine is locked to its thread, so it is the loop itself.
func onThread(run loopRun) bool { return run.TID() == unix.Gettid() }

// await runs start, which hands done to whatever answers, and waits for
// the answer, for ctx, or for the end of the run that was to answer (the
// channel start returns), whichever comes first. An answer that comes after
// ctx is dropped; a run that ended before it answered did not run the call.
// With spin, it looks for the answer for a few microseconds before it
// sleeps, for an answer from a locked loop (see chans.Spin).
func await(ctx context.Context, start func(done func([]byte, error)) (<-chan struct{}, bool), name string, spin bool) ([]byte, error) {
	type result struct {
		resp []byte
		err  error
	}
	answered := make(chan result, 1)
	ended, ok := start(func(resp []byte, err error) { answered <- result{resp, err} })
	if !ok {
		return nil, fmt.Errorf("service %q: its loop is closed: %w", name, ErrNotRunning)
	}
	if spin {
		// A locked loop answers within microseconds, and spins for the
		// next call meanwhile: look for the answer before sleeping.
		chans.Spin(func() bool { return len(answered) > 0 })
	}
	select {
	case r := <-answered:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-ended:
		select {
		case r := <-answered: // it answered as its last callback
			return r.resp, r.err
		default:
			return nil, fmt.Errorf("service %q ended before it took the call: %w", name, ErrNotRunning)
		}
	}
}

// dial makes a connection to the member where it runs. A connection to a
// child holds its lease until it is closed: a replacement lets it end,
// within half the child's stop budget, before it stops that child.
func (m *member) dial(ctx context.Context, h *host) (net.Conn, error) {
	if run, lease, err := m.remote(h); run != nil || err != nil {
		if err != nil {
			return nil, err
		}
		conn, err := run.Dial(ctx)
		if err != nil {
			lease.End()
			return nil, err
		}
		return &leasedConn{Conn: conn, lease: lease}, nil
	}
	server, ok := m.svc.Instance.(ConnServer)
	if !ok {
		return nil, fmt.Errorf("service %q takes no connections: %w", m.spec.name, ErrNotDialable)
	}
	client, end := net.Pipe()
	go server.ServeConn(end)
	return client, nil
}

// leasedConn is a connection to a child that holds the child's lease until
// it is closed.
type leasedConn struct {
	net.Conn
	lease supervisor.Lease
	once  sync.Once
}

func (c *leasedConn) Close() error {
	c.once.Do(c.lease.End)
	return c.Conn.Close()
}

// Client reaches one service by its name, in whatever mode it runs: the
// same calls, errors, deadlines and limits whether the service runs on a
// loop, on a thread or in a child process. With replicas, each call goes
// to the running replica with the fewest calls under way.
//
// A constructor takes a Client with the service's name tag, such as
//
//	fx.Annotate(NewCruncher, fx.ParamTags(`name:"worker"`))
//
// and that makes the service start before the constructor's own service
// and stop after it, as any dependency does.
type Client struct {
	host *host
	name string
}

// Name is the name of the service the client reaches.
func (c *Client) Name() string { return c.name }

// Call sends request to the service and returns its response; see
// Supervisor.Call.
func (c *Client) Call(ctx context.Context, request []byte) ([]byte, error) {
	return c.host.call(ctx, c.name, request)
}

// Dial connects to the service; see Supervisor.Dial.
func (c *Client) Dial(ctx context.Context) (net.Conn, error) { return c.host.dial(ctx, c.name) }
