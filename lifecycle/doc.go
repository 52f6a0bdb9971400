// Package lifecycle holds the settings, events, states and errors of a
// service's lifecycle in hostfx.
//
// # Settings
//
// Options configure one service (app.Service) or all of them
// (app.ServiceDefaults); a service's own options win. [StartTimeout],
// [StopTimeout] and [WaitForReady] shape its start and stop; both timeouts
// default to [DefaultTimeout]. An in-process service that does not stop
// within its stop timeout is detached: its goroutine cannot be killed, so
// it is left running and reported by name with a [TimeoutError], and the
// [Stopped] event's Stack shows where it is stuck. A
// process-mode service is killed instead. [Replicas] runs n instances of a
// service, each supervised on its own and named after it with its number,
// as worker#2. [ReplaceOnHangup] has App.Run replace a process-mode
// service's child with a fresh one, without a gap in service, on SIGHUP.
// [Limits] bounds the memory, open files, CPU time and processes of a
// process-mode service's child ([ResourceLimits]).
//
// # Readiness
//
// A service counts as started as soon as its entry point runs. With
// [WaitForReady] it counts as started only once it calls [Ready] with the
// context its entry point received; services that depend on it wait.
//
// # Watchdog
//
// [Watchdog] gives a service a liveness check, like systemd's WatchdogSec:
// a running service that shows no sign of life for the period is hung. A
// blocking service shows life by calling [Alive] with its entry point's
// context; an async service needs to do nothing, since the watchdog posts
// a probe among its callbacks every half period and a loop that runs it
// lives. The supervisor ends a hung run (an in-process one is told to
// stop, a child gets SIGQUIT and then SIGKILL), reports a [Crashed] event
// whose error is a *[TimeoutError] in the phase "watchdog" and whose Stack
// shows where the service was stuck, and restarts it by its policy.
//
// # Restarts
//
// A service that fails while the app runs is restarted. [RestartPolicy]
// says which ends restart ([OnFailure], the default; [Always]; [Never]),
// and an error wrapping [ErrNoRestart] ends a service for good without
// counting as a failure. [Restart] sets the [Strategy] that computes the
// delay before restart k, counting from 0 since the last stable run:
// [Immediate] 0; [FixedBackoff] d; [LinearBackoff]
// min(step·(k+1), maxDelay); [ExponentialBackoff]
// d = min(initial·2^k, maxDelay) plus a uniform jitter in
// [0, min(maxJitter, d/2)]. The jitter keeps services that failed together
// from restarting together; the bound of half the delay keeps a short
// delay short. The default is exponential from 1s, capped at 60s, with up
// to 5s of jitter, so the first restart comes after 1 to 1.5s. [Intensity]
// allows at most n restarts within a window (default 5 in 60s); one
// failure more and the service gives up, which stops the app unless the
// service was registered with [FailAlone]. A run that lasts [StableAfter]
// (default: the window) resets the delay to the first one. Strategy and
// policy names (EXPONENTIAL_BACKOFF, ON_FAILURE, ...) are read by
// [ParseStrategyKind] and [ParsePolicy].
//
// # Events
//
// Each step is an [Event]: [Starting], [Started], [Stopping], [Stopped],
// [Crashed], [Exited], [Restarting], [GaveUp] and [Stalled], and
// [Replacing] and [Replaced] around the replacement of a child. An [Observer]
// receives them all; the app's logger is one observer ([ZapObserver]), and
// tests add their own with app.Observe. A [Status] is a snapshot of one
// service and its [State], as App.Status in package app reports it. It
// encodes as readable JSON: the state and mode as text ("waiting to
// restart", "SEPARATE_PROCESS"), the last error as its message or null.
//
// # Errors
//
// Every timeout is a *[TimeoutError] naming the service and the phase, and
// wraps [ErrTimeout], so errors.Is and errors.As work through wrapping.
//
// A process-mode service whose child ends badly (a crash, a failure, a
// kill) fails with a *[ChildExitError]: the child's exit code or signal,
// whether the app killed it and why, the stderr line that says why it
// died (a panic's or a fatal error's first line, or log.Fatal's message),
// and the head of its Go crash report and the tail of its stderr. The
// Crashed event's Stack holds the same report, from [ChildExitError.Trace].
// It wraps what the failure is in any mode, so the same errors.Is and
// errors.As hold for every mode: the *[TimeoutError] of a stop that
// overran, for which the app killed the child, or the *modes.PanicError
// of a panic, which the child reports with its stack whatever it logs.
// A child that went over one of its [ResourceLimits] says which in
// [ChildExitError.Limit].
package lifecycle
