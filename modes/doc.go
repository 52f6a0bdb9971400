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
//   - SEPARATE_PROCESS and SEPARATE_PROCESS_ASYNC ([SeparateProcess],
//     [SeparateProcessAsync]): a child process. These are planned; this
//     version rejects them when the app is built.
//
// [ParseMode] and the text marshalling methods read and write the names.
//
// # Entry points
//
// A service in a blocking mode implements [Runner]: Run(ctx) returns when
// ctx is cancelled, and a non-nil error is a crash. A service in an
// *_ASYNC mode implements [AsyncRunner]: RunAsync(ctx, loop) runs on the
// loop, schedules work and returns.
//
// # Event loops
//
// An [EventLoop] runs callbacks one at a time, in order, on the goroutine
// that calls [EventLoop.Run]. Each service sees it through its own [Loop],
// with Post, After, Every, Go and Exit; closing one service's Loop drops
// its timers and callbacks and leaves the others running. A watchdog
// reports any callback that holds the loop for more than 100ms, naming the
// service and the function.
package modes
