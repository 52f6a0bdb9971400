package liveness

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hostfx/hostfx/lifecycle"
)

// ErrNoAnswer is wrapped by the error of a Probe whose supervisor did not
// answer in time.
var ErrNoAnswer = errors.New("the supervisor did not answer")

// Probe asks a supervisor for its Status and waits for the answer at most
// as long as a context allows. The supervisor answers under the lock of
// each service, so a Status that does not come back means a supervisor
// that is wedged.
//
// A question that has not been answered is never asked twice: later
// probes wait for the same answer, so a wedged supervisor holds one
// goroutine, not one per probe. That goroutine ends when Status returns.
type Probe struct {
	status func() []lifecycle.Status
	ping   func(context.Context) error // nil when there is nothing to ping

	mu      sync.Mutex
	pending *answer // the question under way, nil when none is
}

// answer is one call of Status; done is closed when it returns.
type answer struct {
	done   chan struct{}
	status []lifecycle.Status
}

// New returns a Probe that asks status, such as (*app.Supervisor).Status.
func New(status func() []lifecycle.Status) *Probe { return &Probe{status: status} }

// WithPing makes the probe also wait for ping, such as
// (*app.Supervisor).Ping, which answers once the main event loop has run
// what was posted before: a loop stuck in a callback fails the probe. It
// returns p.
func (p *Probe) WithPing(ping func(context.Context) error) *Probe {
	p.ping = ping
	return p
}

// Status returns the supervisor's answer, or an error wrapping ErrNoAnswer
// and ctx's error when ctx ends first.
func (p *Probe) Status(ctx context.Context) ([]lifecycle.Status, error) {
	p.mu.Lock()
	a := p.pending
	if a == nil {
		a = &answer{done: make(chan struct{})}
		p.pending = a
		go p.ask(a)
	}
	p.mu.Unlock()
	select {
	case <-a.done:
		if p.ping != nil {
			if err := p.ping(ctx); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
			}
		}
		return a.status, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrNoAnswer, context.Cause(ctx))
	}
}

// ask calls Status once and hands the answer to every probe waiting.
func (p *Probe) ask(a *answer) {
	a.status = p.status()
	p.mu.Lock()
	p.pending = nil
	p.mu.Unlock()
	close(a.done)
}
