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
// A service is its name. Its constructor is an ordinary fx constructor, of
// any shape fx accepts, and each registration builds its own instance, so
// one constructor may run under many names; it may take the service's
// [Identity] and a *zap.Logger that names the service. Another constructor
// takes the service by its name tag (`name:"worker"`), or by its type where
// only one registration has that type; a service starts after every service
// it depends on. lifecycle.Replicas runs n instances of a service in any
// mode. The *_ASYNC modes call RunAsync(ctx, modes.Loop), the others call
// Run(ctx). Mistakes in a registration are reported when the app is built,
// naming the service, its mode and the file:line of the [Service] call, and
// are returned by [App.Err] and [App.Start]; a constructor that fails is a
// [*BuildError] naming the service and the constructor.
//
// # Calls
//
// A service with HandleCall ([CallHandler]) is called the same way in every
// mode: with the [*Client] provided under its name, which also makes it
// start before and stop after the caller, or with [Supervisor.Call] by
// name. A call runs in the service's child, on its loop, or on the caller's
// goroutine, with the same errors, deadlines and size limit; among replicas
// it goes to the running one with the fewest calls under way.
//
// # Process modes
//
// A SEPARATE_PROCESS or SEPARATE_PROCESS_ASYNC service runs in a child
// process: this program's executable started again, with argv[0]
// "hostfx: <program> <service>", in a process group of its own, killed if
// the app dies, with whatever it started. The child runs main again, and
// when [New] builds the graph there it builds only that service and what
// it depends on, and leaves out the program's fx.Invoke calls (see
// [EveryProcess]); this process never calls the service's constructor, and
// nothing here may depend on its value (that is a build error): the parent
// reaches it with its [Client], answered by the service's HandleCall
// ([CallHandler]), or with [Supervisor.Dial], for a protocol of its own
// ([ConnServer]). The configuration's services.<name>.mode may move a
// service into or out of a child with no change to the code: [New] reads
// it before it builds the graph. The
// app relays the child's log lines, pings it ([ChildHeartbeat]) and kills it
// when it hangs, speaks garbage, or does not stop within its stop timeout.
// In tests, pass [Test] so that a child re-runs only the calling test.
//
// Importing this package does two things before main runs. It locks the
// main goroutine to the main thread (see Running). And in a process that
// the app started as a service's child, which its environment marks, it
// connects to the parent over the inherited control channel, so the child
// is supervised before any of the program's own code runs; such a child
// exits with status 2, saying why on stderr, if that channel is broken. In
// any other process it does nothing more.
//
// # Supervision
//
// A service that fails while the app runs is restarted by its policy and
// strategy, up to its intensity (package lifecycle): an in-process service
// by calling its entry point again on the same instance, a process-mode
// service in a fresh child. A service that gives up stops the app with exit
// code 1, unless it was registered with lifecycle.FailAlone.
// [Supervisor.Status], which an App has too and constructors can take as
// *[Supervisor], reports every service's state, restarts and last error.
//
// # Composition
//
// Every function here returns an fx.Option, so services go into fx.Module
// and mix with fx.Provide and fx.Invoke. [Module] is the app as an fx.Option,
// for fx.New or fxtest.New instead of [New]: pass it every option,
// services included. Adding hostfx changes nothing fx does: each service
// has a hook of its own, appended when fx builds it, fx.Lifecycle is left as
// fx made it, and [App.Run] keeps fx's timeouts and events.
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
