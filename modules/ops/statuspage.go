package ops

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

// Bounds of the status page's streams.
const (
	timelineLength = 256 // events the page keeps for the timeline of a new or resynced stream
	streamBuffer   = 256 // events a stream holds before it loses them and is resynced
	maxStreams     = 64  // streams at once; the next is refused with 503
	heartbeatEvery = 15 * time.Second
)

// Reasons a stream is refused.
var (
	errPageClosed     = errors.New("the ops server is stopping")
	errTooManyStreams = errors.New("too many status page streams are open")
)

// statusPage feeds the live status page. The module's relay hands it every
// lifecycle event; it keeps the last timelineLength of them, numbered, and
// offers each to every open stream without ever waiting: a stream whose
// buffer is full loses the event and is sent a new snapshot instead, so a
// slow browser costs the app nothing.
//
// It owns no state of the services: each message carries their Status as
// the supervisor reports it when the message is written.
type statusPage struct {
	live    *liveness.Probe
	timeout time.Duration // of each question to the supervisor
	clock   clockwork.Clock
	buffer  int // each stream's; streamBuffer unless a test lowers it

	mu       sync.Mutex
	seq      uint64 // of the last event
	timeline ring
	streams  map[*stream]struct{}
	closed   bool // the server is stopping: no new streams
}

// stream is one open event stream, written by its request's goroutine.
type stream struct {
	events chan entry
	resync chan struct{} // holds a token while a snapshot is due
	done   chan struct{} // closed when the page ends the stream
	lost   bool          // under statusPage.mu: events were lost since the last snapshot
}

func newStatusPage(live *liveness.Probe, s settings) *statusPage {
	return &statusPage{
		live: live, timeout: s.CheckTimeout, clock: s.clock, buffer: streamBuffer,
		streams: map[*stream]struct{}{},
	}
}

// observe numbers an event, adds it to the timeline and offers it to
// every stream. It never blocks on a stream.
func (p *statusPage) observe(e lifecycle.Event) {
	en := entryOf(e, p.clock.Now())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	en.Seq = p.seq
	p.timeline.add(en)
	for s := range p.streams {
		s.offer(en)
	}
}

// offer queues en, or marks the stream as having lost events and asks for
// a snapshot; later events are dropped until the snapshot is taken, which
// holds them. statusPage.mu must be held.
func (s *stream) offer(en entry) {
	if s.lost {
		return
	}
	select {
	case s.events <- en:
	default:
		s.lost = true
		s.resync <- struct{}{} // never blocks: lost was false, so the token was taken
	}
}

// subscribe opens a stream and returns the timeline up to now for its
// first snapshot; every later event goes to the stream.
func (p *statusPage) subscribe() (*stream, []entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, nil, errPageClosed
	case len(p.streams) >= maxStreams:
		return nil, nil, errTooManyStreams
	}
	s := &stream{events: make(chan entry, p.buffer), resync: make(chan struct{}, 1), done: make(chan struct{})}
	p.streams[s] = struct{}{}
	return s, p.timeline.list(), nil
}

// unsubscribe forgets a stream whose request has ended.
func (p *statusPage) unsubscribe(s *stream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.streams, s)
}

// resynced empties a stream that lost events and returns the timeline
// for its new snapshot: what the stream receives next is newer.
func (p *statusPage) resynced(s *stream) []entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(s.events) > 0 {
		<-s.events
	}
	s.lost = false
	return p.timeline.list()
}

// open lets streams in again, when the server starts once more.
func (p *statusPage) open() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = false
}

// close ends every stream, so the server's shutdown does not wait for
// them, and refuses new ones.
func (p *statusPage) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for s := range p.streams {
		close(s.done)
		delete(p.streams, s)
	}
}

// snapshot is the whole page: the first message of a stream, and the one
// after it lost events.
type snapshot struct {
	Services []serviceView `json:"services"`
	Timeline []entry       `json:"timeline"`
	Error    string        `json:"error,omitempty"` // the supervisor did not answer
}

// update carries new events and the Status of the services they concern.
type update struct {
	Timeline []entry       `json:"timeline"`
	Services []serviceView `json:"services"`
	Error    string        `json:"error,omitempty"`
}

func (p *statusPage) snapshot(ctx context.Context, timeline []entry) snapshot {
	services, err := p.services(ctx, nil)
	return snapshot{Services: services, Timeline: timeline, Error: err}
}

func (p *statusPage) update(ctx context.Context, events []entry) update {
	concerned := make(map[string]bool, len(events))
	for _, en := range events {
		concerned[en.Service] = true
	}
	services, err := p.services(ctx, concerned)
	return update{Timeline: events, Services: services, Error: err}
}

// services asks the supervisor for the Status of the services only names,
// or of all when only is nil. A supervisor that does not answer within
// the check timeout gets no services and the reason.
func (p *statusPage) services(ctx context.Context, only map[string]bool) ([]serviceView, string) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	statuses, err := p.live.Status(ctx)
	if err != nil {
		return nil, err.Error()
	}
	out := make([]serviceView, 0, len(statuses))
	for _, st := range statuses {
		if only == nil || only[st.Service] {
			out = append(out, viewOf(st))
		}
	}
	return out, ""
}

// ring holds the last timelineLength entries.
type ring struct {
	buf  [timelineLength]entry
	next int // where the next entry goes
	full bool
}

func (r *ring) add(en entry) {
	r.buf[r.next] = en
	r.next = (r.next + 1) % len(r.buf)
	r.full = r.full || r.next == 0
}

// list returns the entries, oldest first.
func (r *ring) list() []entry {
	if !r.full {
		return append([]entry(nil), r.buf[:r.next]...)
	}
	return append(append(make([]entry, 0, len(r.buf)), r.buf[r.next:]...), r.buf[:r.next]...)
}
