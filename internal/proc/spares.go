package proc

import (
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/chans"
	"github.com/hostfx/hostfx/internal/executor"
)

// A child spawned ahead of need is held: it execs, its Go runtime starts,
// the packages up to this one initialise, it says hello, and then it waits
// for the go-ahead (the Go frame a child with limits waits for too) before
// the rest of the program runs, so it builds nothing until a launch takes
// it. What a held child costs is its exec and the runtime's start, paid
// before the launch rather than in it, and while it waits the memory of a
// Go program that has done nothing yet (see docs/execution-modes.md).

// NoPrespawn keeps apps, when set, from spawning their process-mode
// services' children ahead of their start: each service's start spawns its
// child then, one after another. It is for measuring what pre-spawning
// gains (bench/cmd/hostfx-bench); an app reads it at each start.
var NoPrespawn atomic.Bool

// SpareLaunched is what the parent logs at debug level, with the child's PID, when a
// launch has let a held child go on.
const SpareLaunched = "launched from a spare child"

// SpareHeld is what the parent logs, at debug level, once a child spawned
// ahead has said hello and waits for a launch.
const SpareHeld = "spare child held"

// Spares holds at most one child of a service, spawned ahead and held, for
// the service's next launch to take in place of a cold spawn. The app fills
// it as it starts, so the children of all its process-mode services spawn
// at once; with Warm, each launch that has started fills it again, so a
// restart or a replacement takes a child that is already running.
type Spares struct {
	// Warm keeps a spare after each launch that started.
	Warm bool

	mu     sync.Mutex
	held   *Run
	closed bool
}

// Prespawn spawns a held child for the service spec names, unless one is
// held already or the spares are closed. Only the spec's Name and
// StopTimeout count: the launch that takes the child gives the rest.
func (e Executor) Prespawn(spec executor.Spec) {
	s := e.Spares
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.held != nil && !chans.Closed(s.held.done) {
		return
	}
	s.held = e.start(executor.Spec{Name: spec.Name, StopTimeout: spec.StopTimeout}, true)
	e.Log.Debug("spare child spawned, held until a launch takes it", zap.String("service", spec.Name))
}

// take returns the held child, if there is one that still runs, and
// leaves none; a held child that ended is logged and dropped, and the
// launch spawns afresh.
func (s *Spares) take() *Run {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	r := s.held
	s.held = nil
	s.mu.Unlock()
	if r != nil && chans.Closed(r.done) {
		r.log.Warn("spare child ended while held; spawning a new child instead", zap.Int("spare_pid", r.PID()), zap.Error(r.err))
		return nil
	}
	return r
}

// Open lets the spares be filled again after Close.
func (s *Spares) Open() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = false
	s.mu.Unlock()
}

// Close ends the held child, if any, waits until it has exited, and keeps
// the spares empty until Open.
func (s *Spares) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	r := s.held
	s.held, s.closed = nil, true
	s.mu.Unlock()
	if r != nil {
		r.Kill("spare child no longer needed")
		_ = r.Wait() // killed on purpose: how it ended says nothing
	}
}

// refill spawns the next spare once r has started; a run that ends first
// leaves the spares as they are, for the restart to spawn afresh.
func (e Executor) refill(r *Run) {
	if e.Spares == nil || !e.Spares.Warm {
		return
	}
	spec := executor.Spec{Name: r.spec.Name, StopTimeout: r.spec.StopTimeout}
	go func() {
		select {
		case <-r.ready:
			e.Prespawn(spec)
		case <-r.done:
		}
	}()
}

// release gives a held child the go-ahead for the launch spec describes.
func (r *Run) release(spec executor.Spec) {
	r.mu.Lock()
	r.spec.Alive = spec.Alive
	r.mu.Unlock()
	close(r.released)
}
