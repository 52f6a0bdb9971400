package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// The texts a scripted service fails with: an error's class is read from
// them, in every mode, including from the text a child sends back.
const (
	failText   = "conformance: the service failed"
	panicValue = "conformance: the service panicked"
)

var (
	errFailed    = errors.New(failText)
	errNoRestart = fmt.Errorf("conformance: finished: %w", lifecycle.ErrNoRestart)
)

// startHow is what a run does before it counts as started.
type startHow uint8

const (
	startReady     startHow = iota // gets ready (see behaviour.readyAlways) and runs on
	startError                     // returns errFailed before it is ready
	startPanic                     // panics before it is ready
	startNever                     // never gets ready; ends when its context does
	startNeverDeaf                 // never gets ready and ignores its context
)

// action is what a started run does when the test triggers it.
type action uint8

const (
	actError     action = iota // returns (or exits its loop with) errFailed
	actPanic                   // panics in Run, or in a loop callback
	actExit                    // ends cleanly
	actNoRestart               // ends with an error wrapping lifecycle.ErrNoRestart
	actWedge                   // stops showing signs of life until it is stopped
)

// stopHow is how a started run treats its context.
type stopHow uint8

const (
	stopHonour stopHow = iota // returns as soon as its context ends
	stopDeaf                  // never looks at its context
	stopHang                  // sees its context end, then hangs in its clean-up
)

// behaviour is a scripted service's part of a row. Every run of the
// service behaves alike: the row drives which runs get triggered.
type behaviour struct {
	start startHow
	act   action
	stop  stopHow
	// sideWork starts, beside the entry point, work that ignores the
	// context: a goroutine for Run, a Go work item for RunAsync.
	sideWork bool
	// atOnce acts as soon as the run is ready, without waiting for the
	// test's trigger.
	atOnce bool
	// readyAlways calls lifecycle.Ready even when the row does not wait
	// for it. Without it a run calls Ready only under WaitForReady.
	readyAlways bool
	// failStartOfRun makes run number n, counting from 1 across
	// restarts and children, fail before it is ready.
	failStartOfRun int
}

// scripted is the service of every row, in every mode: Run for the
// blocking modes, RunAsync for the loop modes.
type scripted struct {
	b behaviour
	// waitsForReady is the row's WaitForReady setting.
	waitsForReady bool
	// state is the row's directory, the same in this process and in
	// its children.
	state string
	// trigger makes the current run act: the test sends on it in this
	// process, SIGUSR1 reaches it in a child.
	trigger chan os.Signal
	// release ends whatever hangs in this process, so that the test
	// leaks no goroutine; in a child it is never closed, and the parent
	// kills the child instead.
	release <-chan struct{}
}

// newScripted returns the constructor of a row's service. The test calls
// it through fx in this process for the in-process modes, and the child
// calls it for the process modes; onBuilt gets the instance.
func newScripted(b behaviour, waitsForReady bool, state string, release <-chan struct{}, onBuilt func(*scripted)) func() *scripted {
	return func() *scripted {
		s := &scripted{b: b, waitsForReady: waitsForReady, state: state, trigger: make(chan os.Signal, 1), release: release}
		if _, child := app.InChild(); child {
			// Before the child reports the service started, so the test's
			// SIGUSR1, sent after that, never meets the default action.
			signal.Notify(s.trigger, syscall.SIGUSR1)
		}
		onBuilt(s)
		return s
	}
}

// beginRun counts this run, when the row needs the count, and says how it
// starts; it fails a run that is to fail before it is ready.
func (s *scripted) beginRun() (startHow, error) {
	start := s.b.start
	if s.b.failStartOfRun > 0 {
		n, err := s.countRun()
		if err != nil {
			return 0, err
		}
		if n == s.b.failStartOfRun {
			start = startError
		}
	}
	switch start {
	case startError:
		return start, errFailed
	case startPanic:
		panic(panicValue)
	}
	return start, nil
}

// countRun returns the number of this run, counting from 1, in every mode:
// each run makes a file of its own in the row's directory.
func (s *scripted) countRun() (int, error) {
	for n := 1; ; n++ {
		f, err := os.OpenFile(filepath.Join(s.state, fmt.Sprintf("run-%d", n)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("conformance: count the run: %w", err)
		}
		return n, f.Close()
	}
}

// Run is the blocking entry point.
func (s *scripted) Run(ctx context.Context) error {
	start, err := s.beginRun()
	if err != nil {
		return err
	}
	switch start {
	case startNever:
		<-ctx.Done()
		return nil
	case startNeverDeaf:
		<-s.release
		return nil
	}
	s.ready(ctx)
	if s.b.sideWork {
		go func() { <-s.release }()
	}
	if s.b.atOnce {
		return s.act()
	}
	if s.b.stop == stopDeaf {
		select {
		case <-s.trigger:
			return s.act()
		case <-s.release:
			return nil
		}
	}
	alive := time.NewTicker(aliveEvery)
	defer alive.Stop()
	for {
		select {
		case <-alive.C:
			lifecycle.Alive(ctx) // nothing without a watchdog
			continue
		case <-s.trigger:
			if s.b.act == actWedge {
				<-ctx.Done() // no sign of life, until the stop
				return nil
			}
			return s.act()
		case <-ctx.Done():
			if s.b.stop == stopHang {
				<-s.release
			}
			return nil
		}
	}
}

// aliveEvery is how often a blocking run shows a sign of life: well
// within any watchdog period a row sets.
const aliveEvery = 10 * time.Millisecond

// ready tells the app that the run is ready, when the row waits for that
// or says to anyway.
func (s *scripted) ready(ctx context.Context) {
	if s.waitsForReady || s.b.readyAlways {
		lifecycle.Ready(ctx)
	}
}

func (s *scripted) act() error {
	switch s.b.act {
	case actPanic:
		panic(panicValue)
	case actExit:
		return nil
	case actNoRestart:
		return errNoRestart
	}
	return errFailed
}

// errReleased ends a deaf loop work item when the test releases it.
var errReleased = errors.New("released")

// RunAsync is the event-loop entry point: the same script, with the
// waiting done by Go work items and the reaction on the loop.
func (s *scripted) RunAsync(ctx context.Context, loop modes.Loop) error {
	start, err := s.beginRun()
	if err != nil {
		return err
	}
	switch start {
	case startNever:
		return nil // nothing runs that could ignore the stop
	case startNeverDeaf:
		loop.Go(s.deaf, nil)
		return nil
	}
	s.ready(ctx)
	if s.b.sideWork {
		loop.Go(s.deaf, nil)
	}
	if s.b.atOnce {
		loop.Post(func() { s.actOnLoop(ctx, loop) })
		return nil
	}
	wait := s.awaitTrigger
	if s.b.stop == stopDeaf {
		wait = s.awaitTriggerDeaf
	}
	loop.Go(wait, func(err error) {
		if err == nil {
			s.actOnLoop(ctx, loop)
		}
	})
	return nil
}

// deaf is loop work that ignores its context.
func (s *scripted) deaf(context.Context) error {
	<-s.release
	return errReleased
}

func (s *scripted) awaitTrigger(ctx context.Context) error {
	select {
	case <-s.trigger:
		return nil
	case <-ctx.Done():
		if s.b.stop == stopHang {
			<-s.release
		}
		return ctx.Err()
	}
}

func (s *scripted) awaitTriggerDeaf(context.Context) error {
	select {
	case <-s.trigger:
		return nil
	case <-s.release:
		return errReleased
	}
}

// actOnLoop reacts to the trigger in a loop callback.
func (s *scripted) actOnLoop(ctx context.Context, loop modes.Loop) {
	switch s.b.act {
	case actWedge:
		<-ctx.Done() // holds the loop, until the stop
	case actPanic:
		panic(panicValue)
	case actExit:
		loop.Exit(nil)
	case actNoRestart:
		loop.Exit(errNoRestart)
	default:
		loop.Exit(errFailed)
	}
}
