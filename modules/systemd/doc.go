// Package systemd tells systemd how a hostfx app is doing, for a unit of
// Type=notify: READY=1 once every service has started, STOPPING=1 when
// the app begins to stop, and, when the unit sets WatchdogSec, WATCHDOG=1
// at half that interval for as long as the app's supervisor answers.
//
//	app.New(
//		app.Service("api", NewAPI, modes.MainEventLoopAsync),
//		systemd.Module(), // after the services
//	).Run()
//
// # Where it runs
//
// Only the app's own process notifies systemd: a process-mode service's
// child leaves out the module's invoke, and the module reads and then
// removes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the
// environment when the app is built, so no child it starts, nor anything
// a child starts, inherits them. Without NOTIFY_SOCKET, outside systemd,
// the module does nothing.
//
// # Order
//
// The module's hook must come after every service's, so that READY=1
// follows the last service's start and STOPPING=1 comes before the first
// service stops: pass Module after every app.Service, at the top level of
// the app's options. Start fails, naming the services, when it does not.
//
// # Watchdog
//
// Each ping asks the supervisor for its Status first and waits at most
// half the interval: a wedged supervisor stops the pings and systemd
// restarts the unit as its Restart= setting says. The pings begin with
// READY=1 and end with STOPPING=1, which is when systemd watches them.
//
// # The protocol
//
// Each message is one datagram on the unix socket NOTIFY_SOCKET names
// (a path, or an abstract name starting with "@"), as sd_notify(3) sends
// it. The package writes it over net.UnixConn itself: the protocol is a
// handful of lines, and go-systemd's daemon package would add a module
// (with its D-Bus requirements) for them.
package systemd
