// Package modes defines where a hostfx service runs: its execution mode,
// its entry points and the event loop the *_ASYNC modes run on.
//
// # Execution modes
//
// An [ExecutionMode] is one of five names, used in code, logs and
// configuration files:
//
//   - MAIN_EVENT_LOOP_ASYNC ([MainEventLoopAsync]): callbacks on the app's
//     main event loop, shared by every service in this mode.
//   - SEPARATE_THREAD ([SeparateThread]): a blocking Run on a goroutine
//     locked to an OS thread of its own.
//   - SEPARATE_THREAD_ASYNC ([SeparateThreadAsync]): a private event loop
//     on an OS thread of its own.
//   - SEPARATE_PROCESS ([SeparateProcess]): a blocking Run in a child
//     process, the same binary started again to build and run only this
//     service, supervised over an inherited socketpair.
//   - SEPARATE_PROCESS_ASYNC ([SeparateProcessAsync]): RunAsync on an event
//     loop on the main thread of such a child.
//
// [ParseMode] and the text marshalling methods read and write the names;
// [ExecutionMode.Async] and [ExecutionMode.Process] classify a mode.
//
// # Entry points
//
// A service in a blocking mode implements [Runner]: Run(ctx) returns when
// ctx is cancelled, and a non-nil error is a failure. A service in an
// *_ASYNC mode implements [AsyncRunner]: RunAsync(ctx, loop) runs on the
// loop, schedules work and returns. After a failure the service is
// restarted: the in-process modes call the entry point again on the same
// value, the process modes build a new value in a new child.
//
// # Event loops
//
// An async service's callbacks run on an event loop, one at a time, in
// order, on the loop's goroutine. The service sees the loop through its
// own [Loop], with Post, After, Every, Go and Exit; closing one service's
// Loop drops its timers and callbacks and leaves the other services on the
// loop running. A watchdog reports any callback that holds the loop for
// more than 100ms, naming the service and the function. A panic in a
// callback closes the service's Loop with a [*PanicError].
package modes
