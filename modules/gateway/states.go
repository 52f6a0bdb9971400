package gateway

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostfx/hostfx/lifecycle"
)

// states knows which services run, from the supervisor's Status, read
// again after each lifecycle event, and how long each one that waits to
// restart still waits, from its Restarting event.
type states struct {
	clock  clockwork.Clock
	status func() []lifecycle.Status // set before the gateway serves

	events atomic.Uint64 // lifecycle events seen
	snap   atomic.Pointer[snapshot]

	mu       sync.Mutex
	restarts map[string]restart // the last Restarting of each service
}

// snapshot is the services' states after a number of events.
type snapshot struct {
	events uint64
	state  map[string]lifecycle.State
}

// restart is when a service began to wait to restart, and for how long.
type restart struct {
	at    time.Time
	delay time.Duration
}

func newStates(clock clockwork.Clock) *states {
	return &states{clock: clock, restarts: map[string]restart{}}
}

// observe is the gateway's lifecycle.Observer.
func (s *states) observe(e lifecycle.Event) {
	if r, ok := e.(*lifecycle.Restarting); ok {
		s.mu.Lock()
		s.restarts[r.Service] = restart{at: s.clock.Now(), delay: r.Delay}
		s.mu.Unlock()
	}
	// After the event: the supervisor changes a state before it reports
	// the change, so a snapshot taken after this sees it.
	s.events.Add(1)
}

// current returns the states as of the last event.
func (s *states) current() *snapshot {
	n := s.events.Load()
	if snap := s.snap.Load(); snap != nil && snap.events == n {
		return snap
	}
	return s.refresh()
}

// refresh reads Status again.
func (s *states) refresh() *snapshot {
	// Counted before Status is read: a snapshot never claims events that
	// came after it.
	snap := &snapshot{events: s.events.Load()}
	statuses := s.status()
	snap.state = make(map[string]lifecycle.State, len(statuses))
	for _, st := range statuses {
		snap.state[st.Service] = st.State
	}
	s.snap.Store(snap)
	return snap
}

// running reports whether service runs.
func (snap *snapshot) running(service string) bool {
	return snap.state[service] == lifecycle.StateRunning
}

// retryAfter says in how many seconds one of services may run again: the
// least of what each waits, rounded up, at least 1; for one that waits to
// restart, what is left of its delay. ok is false when none of them will
// run again by itself: each has failed for good or exited.
func (s *states) retryAfter(snap *snapshot, services []string) (seconds int, ok bool) {
	best := math.MaxInt
	for _, service := range services {
		wait := 1
		switch snap.state[service] {
		case lifecycle.StateFailed, lifecycle.StateExited:
			continue
		case lifecycle.StateBackoff:
			wait = s.backoffLeft(service)
		}
		best = min(best, wait)
	}
	return best, best != math.MaxInt
}

// backoffLeft is how many seconds service still waits to restart, rounded
// up, at least 1.
func (s *states) backoffLeft(service string) int {
	s.mu.Lock()
	r, ok := s.restarts[service]
	s.mu.Unlock()
	if !ok {
		return 1
	}
	left := r.at.Add(r.delay).Sub(s.clock.Now())
	return max(1, int(math.Ceil(left.Seconds())))
}
