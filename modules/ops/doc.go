// Package ops serves what operators and orchestrators ask of a running
// hostfx app: liveness and readiness probes, Prometheus metrics and a live
// status page, on one HTTP address.
//
//	app.New(
//		app.Service("api", NewAPI, modes.MainEventLoopAsync),
//		app.Service("worker", NewWorker, modes.SeparateProcess),
//		ops.Module(ops.Addr(":8181")), // after the services
//	).Run()
//
// # Probes
//
// /livez answers whether the app's supervisor is alive: its Status comes
// back, and its main event loop answers a ping (the "main-loop" check,
// which names the callback a stuck loop is in), within the check timeout. /readyz answers whether the app should
// get traffic: the supervisor answers, every service has started (the
// "started" check), the app is not stopping ("shutdown"), and each
// service runs or ended cleanly ("service/<name>"), except those left out
// with ReadinessExcept. Both follow Kubernetes' conventions: 200 and "ok"
// when every check passes; 503 and one line per check ("[+]name ok",
// "[-]name failed: reason") when one fails; ?verbose lists the checks
// when all pass; ?exclude=name skips one; /readyz/<name> runs only one. A
// service's reason is its state, never its last error.
//
// A program adds checks of its own with AsCheck; a Check with Live set
// joins /livez too.
//
// # Stopping
//
// /readyz fails before any service stops: the module's last hook comes
// after every service's, so fx runs its OnStop first. It waits
// ShutdownDelay there, for load balancers to notice, and the services then
// stop in reverse order while the endpoints still answer; the server
// itself stops last. That is why Module must come after every app.Service
// at the top level of the app's options; start fails, naming the
// services, when it does not.
//
// # Metrics
//
// /metrics serves, with client_golang:
//
//	hostfx_service_info{service,mode}                      1
//	hostfx_service_state{service,state}                    1 for its state, 0 for the others
//	hostfx_service_restarts_total{service}                 restarts since the app started
//	hostfx_service_start_time_seconds{service}             when a running service began running
//	hostfx_service_start_duration_seconds{service}         histogram of start durations
//	hostfx_service_crashes_total{service}                  runs that ended in an error, panic or crash
//	hostfx_loop_stalls_total{loop,service}                 callbacks that held an event loop too long
//	hostfx_loop_lag_seconds{loop}                          how late each event loop is, sampled every second
//	hostfx_service_process_resident_memory_bytes{service}  a process-mode service's child's RSS
//	hostfx_service_process_cpu_seconds_total{service}      its child's CPU time
//
// The state label is one of idle, starting, running, backoff, stopping,
// stopped, exited and failed. A service's uptime is
// time() - hostfx_service_start_time_seconds, as Prometheus' practice is to
// export when something happened rather than how long ago.
//
// The metrics go to the program's prometheus.Registerer when the graph has
// one, and /metrics serves the graph's prometheus.Gatherer, or that
// Registerer if it is also a Gatherer. Otherwise they go to a registry of
// the module's own, with the Go runtime's and the process's metrics.
//
// # Status page
//
// /status/ is a page for people: every service with its mode, replica,
// state, pid and thread, restarts, last error and restart timeline, and
// the app's last lifecycle events, kept up to date by the server-sent
// events of /status/events. A stream opens with a snapshot event (every
// service's Status and the last events), then sends an update event for
// each batch of events (the events, and the Status of the services they
// concern), and a heartbeat comment every 15s. A stream that falls more
// than its buffer behind loses events instead of holding up the app, and
// is sent a new snapshot. The page is HTML, CSS and plain JavaScript
// embedded in the package; it shows what services say as text, never as
// HTML, and no stacks, settings, environment or command lines.
//
// # Configuration
//
// Options configure the module in code; with the configuration module,
// config.Provide[ops.Settings]("ops") binds the "ops" section, whose keys
// win over code. The endpoints listen on DefaultAddr, on 127.0.0.1, unless
// an address is given.
//
// # Logging
//
// The module logs where it listens, its shutdown delay and a server that
// fails to the program's *zap.Logger when the graph has one, and to the
// app's own logger (Supervisor.Logger) otherwise.
package ops
