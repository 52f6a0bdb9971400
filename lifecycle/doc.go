// Package lifecycle holds the settings, events and errors of a service's
// lifecycle in hostfx.
//
// # Settings
//
// [StartTimeout], [StopTimeout] and [WaitForReady] are options for one
// service (app.Service) or for all of them (app.ServiceDefaults). Both
// timeouts default to [DefaultTimeout]. A service that does not stop
// within its stop timeout is detached: its goroutine cannot be killed, so
// it is left running and reported by name with a [TimeoutError].
//
// # Readiness
//
// A service counts as started as soon as its entry point runs. With
// [WaitForReady] it counts as started only once it calls [Ready] with the
// context its entry point received; services that depend on it wait.
//
// # Events
//
// Each step is an [Event]: [Starting], [Started], [Stopping], [Stopped],
// [Crashed], [Exited] and [Stalled]. An [Observer] receives them all; the
// app's logger is one observer ([ZapObserver]), and tests add their own
// with app.Observe.
//
// # Errors
//
// Every timeout is a *[TimeoutError] naming the service and the phase, and
// wraps [ErrTimeout], so errors.Is and errors.As work through wrapping.
package lifecycle
