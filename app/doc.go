// Package app runs long-lived services on top of go.uber.org/fx.
//
// A service is an ordinary fx constructor registered with [Service] under a
// unique name and an execution mode (see package modes). [New] builds the
// dependency graph; [App.Run] starts every service in dependency order,
// restarts the ones that fail, waits for SIGINT or SIGTERM, and stops them
// in exact reverse order:
//
//	func main() {
//		app.New(
//			app.Service("cruncher", NewCruncher, modes.SeparateThread),
//			app.Service("greeter", NewGreeter, modes.MainEventLoopAsync),
//			app.Service("worker", NewWorker, modes.SeparateProcess),
//		).Run()
//	}
//
// # Services
//
// A constructor returns the service, optionally with an error, and takes
// its dependencies as parameters. The service is provided to the graph as
// its own type, so another constructor may take it; a service starts after
// every service it depends on. The *_ASYNC modes call
// RunAsync(ctx, *modes.Loop), the others call Run(ctx). Mistakes in a
// registration are reported when the app is built, naming the service, its
// mode and the file:line of the [Service] call, and are returned by
// [App.Err] and [App.Start].
//
// # Process modes
//
// A SEPARATE_PROCESS or SEPARATE_PROCESS_ASYNC service runs in a child
// process: this program's executable started again, with argv[0]
// "hostfx: <program> <service>", in a process group of its own, killed if
// the app dies. The child runs main again, and when [New] builds the graph
// there it builds only that service and what it depends on; this process
// never calls the service's constructor, and nothing here may depend on
// its value (that is a build error): the parent reaches it with
// [Supervisor.Call], answered by the service's HandleCall ([CallHandler]),
// or with [Supervisor.Dial], for a protocol of its own ([ConnServer]). The
// app relays the child's log lines, pings it ([ChildHeartbeat]) and kills it
// when it hangs, speaks garbage, or does not stop within its stop timeout.
// In tests, pass [Test] so that a child re-runs only the calling test.
//
// # Supervision
//
// A service that fails while the app runs is restarted by its policy and
// strategy, up to its intensity (package lifecycle): an in-process service
// by calling its entry point again on the same instance, a process-mode
// service in a fresh child. A service that gives up stops the app with exit
// code 1, unless it was registered with lifecycle.FailAlone. [App.Status]
// and [Supervisor.Status], which constructors can take as *[Supervisor],
// report every service's state, restarts and last error.
//
// # Composition
//
// Every function here returns an fx.Option, so services go into fx.Module
// and mix with fx.Provide and fx.Invoke. [Module] is the framework itself,
// for building an app with fx.New or fxtest.New instead of [New].
//
// # Running
//
// [App.Run] is for main: it runs the main event loop on the process's main
// OS thread (this package locks the main goroutine to it when the program
// starts), handles signals, logs what happened and exits non-zero when a
// service gave up or anything else failed. [App.Start], [App.Stop] and
// [App.Wait] are for tests and for programs that drive the app themselves;
// the main event loop then runs on a goroutine locked to an OS thread of
// its own.
//
// # Observing
//
// Every lifecycle step is a typed event (package lifecycle). The logger
// from [NewLogger], or the one given with [Logger], logs them; [Observe]
// adds observers of your own, such as a test's recorder.
package app
