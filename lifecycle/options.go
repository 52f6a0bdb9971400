package lifecycle

import (
	"fmt"
	"time"
)

// DefaultTimeout is the start and stop timeout of a service that sets none.
const DefaultTimeout = 15 * time.Second

// Settings are the effective lifecycle settings of one service: the
// defaults, then app-wide defaults, then the service's own options.
type Settings struct {
	// StartTimeout bounds the time from launch until the service is started.
	StartTimeout time.Duration
	// StopTimeout bounds the time from the stop request until the entry
	// point has returned; past it an in-process service is detached (a
	// goroutine cannot be killed) and a child process is killed.
	StopTimeout time.Duration
	// WaitForReady makes the service count as started only once it calls
	// Ready, instead of as soon as its entry point runs.
	WaitForReady bool
	// Restart is the delay strategy between restarts.
	Restart Strategy
	// Policy says which ends lead to a restart.
	Policy Policy
	// MaxRestarts within Window is the most a service may restart; one more
	// failure and it gives up.
	MaxRestarts int
	Window      time.Duration
	// StableAfter is how long a run must last for the next restart to start
	// again from the strategy's first delay; zero means Window.
	StableAfter time.Duration
	// FailAlone leaves a service that gave up failed while the rest of the
	// app keeps running, instead of stopping the app.
	FailAlone bool
	// Replicas is how many instances of the service run, each supervised
	// on its own; calls to the service are spread over the running ones.
	Replicas int
	// Watchdog, when positive, is the longest a running service may go
	// without a sign of life before it counts as hung; zero turns the
	// watchdog off. See the Watchdog option.
	Watchdog time.Duration
	// ReplaceOnHangup makes App.Run replace a process-mode service with a
	// fresh child, without a gap in service, when the app gets SIGHUP.
	ReplaceOnHangup bool
	// Limits bound what the child of a process-mode service may use; see
	// the Limits option.
	Limits ResourceLimits
	// WarmSpare keeps a spare child of a process-mode service spawned and
	// waiting, for its next restart or replacement; see the WarmSpare
	// option.
	WarmSpare bool
}

// DefaultSettings returns the settings of a service that sets nothing.
func DefaultSettings() Settings {
	return Settings{
		StartTimeout: DefaultTimeout,
		StopTimeout:  DefaultTimeout,
		Restart:      ExponentialBackoff(DefaultInitial, DefaultMaxDelay, DefaultMaxJitter),
		Policy:       OnFailure,
		MaxRestarts:  DefaultMaxRestarts,
		Window:       DefaultWindow,
		Replicas:     1,
	}
}

// With returns s with opts applied in order.
func (s Settings) With(opts ...Option) Settings {
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	return s
}

// Stable returns how long a run must last for the backoff to start over.
func (s Settings) Stable() time.Duration {
	if s.StableAfter > 0 {
		return s.StableAfter
	}
	return s.Window
}

// Validate reports settings no service can run with.
func (s Settings) Validate() error {
	if s.StartTimeout <= 0 {
		return fmt.Errorf("start timeout %v: want a positive duration", s.StartTimeout)
	}
	if s.StopTimeout <= 0 {
		return fmt.Errorf("stop timeout %v: want a positive duration", s.StopTimeout)
	}
	if err := s.Restart.Validate(); err != nil {
		return err
	}
	if s.Policy < OnFailure || s.Policy > Never {
		return fmt.Errorf("%w: %v", ErrUnknownPolicy, s.Policy)
	}
	if s.MaxRestarts < 0 {
		return fmt.Errorf("max restarts %d: want zero or more", s.MaxRestarts)
	}
	if s.Window <= 0 {
		return fmt.Errorf("restart window %v: want a positive duration", s.Window)
	}
	if s.StableAfter < 0 {
		return fmt.Errorf("stable period %v: want a positive duration", s.StableAfter)
	}
	if s.Watchdog != 0 && s.Watchdog < MinWatchdog {
		return fmt.Errorf("watchdog %v: want 0 (off) or at least %v", s.Watchdog, MinWatchdog)
	}
	if s.Replicas < 1 || s.Replicas > MaxReplicas {
		return fmt.Errorf("replicas %d: want 1 to %d", s.Replicas, MaxReplicas)
	}
	return s.Limits.Validate()
}

// An Option changes a service's lifecycle settings. Options are passed to
// app.Service for one service, or to app.ServiceDefaults for all of them.
type Option interface {
	fmt.Stringer
	apply(*Settings)
}

// StartTimeout bounds how long the service may take to start.
func StartTimeout(d time.Duration) Option { return startTimeoutOption(d) }

type startTimeoutOption time.Duration

func (o startTimeoutOption) apply(s *Settings) { s.StartTimeout = time.Duration(o) }
func (o startTimeoutOption) String() string {
	return fmt.Sprintf("lifecycle.StartTimeout(%v)", time.Duration(o))
}

// StopTimeout bounds how long the service may take to stop once asked.
func StopTimeout(d time.Duration) Option { return stopTimeoutOption(d) }

type stopTimeoutOption time.Duration

func (o stopTimeoutOption) apply(s *Settings) { s.StopTimeout = time.Duration(o) }
func (o stopTimeoutOption) String() string {
	return fmt.Sprintf("lifecycle.StopTimeout(%v)", time.Duration(o))
}

// WaitForReady makes the service count as started only when it calls
// Ready with the context its entry point received. Services that depend on
// it start after that; if Ready is not called within the start timeout the
// service fails to start.
func WaitForReady() Option { return waitForReadyOption{} }

type waitForReadyOption struct{}

func (waitForReadyOption) apply(s *Settings) { s.WaitForReady = true }
func (waitForReadyOption) String() string    { return "lifecycle.WaitForReady()" }

// Restart sets the delay strategy between restarts.
func Restart(s Strategy) Option { return restartOption(s) }

type restartOption Strategy

func (o restartOption) apply(s *Settings) { s.Restart = Strategy(o) }
func (o restartOption) String() string    { return fmt.Sprintf("lifecycle.Restart(%v)", Strategy(o)) }

// RestartPolicy sets which ends of the entry point lead to a restart.
func RestartPolicy(p Policy) Option { return policyOption(p) }

type policyOption Policy

func (o policyOption) apply(s *Settings) { s.Policy = Policy(o) }
func (o policyOption) String() string    { return fmt.Sprintf("lifecycle.RestartPolicy(%v)", Policy(o)) }

// Intensity lets a service restart at most maxRestarts times within window;
// the next failure makes it give up.
func Intensity(maxRestarts int, window time.Duration) Option {
	return intensityOption{maxRestarts, window}
}

type intensityOption struct {
	max    int
	window time.Duration
}

func (o intensityOption) apply(s *Settings) { s.MaxRestarts, s.Window = o.max, o.window }

func (o intensityOption) String() string {
	return fmt.Sprintf("lifecycle.Intensity(%d, %v)", o.max, o.window)
}

// StableAfter sets how long a run must last for the backoff to start over.
func StableAfter(d time.Duration) Option { return stableOption(d) }

type stableOption time.Duration

func (o stableOption) apply(s *Settings) { s.StableAfter = time.Duration(o) }
func (o stableOption) String() string {
	return fmt.Sprintf("lifecycle.StableAfter(%v)", time.Duration(o))
}

// FailAlone makes a service that gives up stay failed while the rest of the
// app keeps running; by default giving up stops the app.
func FailAlone() Option { return failAloneOption{} }

type failAloneOption struct{}

func (failAloneOption) apply(s *Settings) { s.FailAlone = true }
func (failAloneOption) String() string    { return "lifecycle.FailAlone()" }

// MaxReplicas is the most replicas a service may have.
const MaxReplicas = 1024

// Replicas runs n instances of the service, in any mode: each is built by
// the service's constructor, supervised on its own, and named after the
// service with its number, as worker#2. Calls to the service go to the
// running replica with the fewest calls under way.
func Replicas(n int) Option { return replicasOption(n) }

type replicasOption int

func (o replicasOption) apply(s *Settings) { s.Replicas = int(o) }
func (o replicasOption) String() string    { return fmt.Sprintf("lifecycle.Replicas(%d)", int(o)) }

// MinWatchdog is the shortest watchdog period a service may have.
const MinWatchdog = time.Millisecond

// Watchdog makes a running service that shows no sign of life for period
// count as hung, as systemd's WatchdogSec does: the supervisor records the
// hang with where the service was stuck, ends the run and applies the
// restart policy. A blocking service (Run) shows life by calling Alive with
// the context its entry point received, at least once per period. An async
// service (RunAsync) needs to do nothing: the watchdog checks that its loop
// runs, among the service's own callbacks, so a stuck loop is a hang. Zero
// turns the watchdog off, the default.
func Watchdog(period time.Duration) Option { return watchdogOption(period) }

type watchdogOption time.Duration

func (o watchdogOption) apply(s *Settings) { s.Watchdog = time.Duration(o) }
func (o watchdogOption) String() string {
	return fmt.Sprintf("lifecycle.Watchdog(%v)", time.Duration(o))
}

// ReplaceOnHangup makes App.Run replace the service when the app gets
// SIGHUP, as Supervisor.Replace in package app does: a new child starts
// beside the running one and takes its calls once it has started, and the
// old one stops once the calls it took have finished. Services that ask for
// it are replaced one after another, in start order. It applies to the
// process modes; a service of another mode (one its configuration moved
// into the app's process) is left running, and the log says so. Without
// any service that asks for it, SIGHUP keeps its default effect.
func ReplaceOnHangup() Option { return replaceOnHangupOption{} }

type replaceOnHangupOption struct{}

func (replaceOnHangupOption) apply(s *Settings) { s.ReplaceOnHangup = true }
func (replaceOnHangupOption) String() string    { return "lifecycle.ReplaceOnHangup()" }

// WarmSpare keeps a spare child of a process-mode service: once each child
// has started, the app spawns the next one, which execs and starts its Go
// runtime and then waits, before it builds anything, until a restart after
// a crash, or a replacement, takes it in place of a cold spawn. The spare
// costs the memory of a Go program that has only started (a few MiB of
// RSS, most of it the binary's shared text; docs/execution-modes.md has
// figures), and ends at the service's stop. A spare that dies while it
// waits is replaced by a cold spawn at the next restart. Services in the
// app's own process have no child, and ignore it.
func WarmSpare() Option { return warmSpareOption{} }

type warmSpareOption struct{}

func (warmSpareOption) apply(s *Settings) { s.WarmSpare = true }
func (warmSpareOption) String() string    { return "lifecycle.WarmSpare()" }
