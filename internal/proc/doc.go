// Package proc runs a process-mode service in a child process: the same
// binary re-executed, talking to its parent over an inherited socketpair
// with length-prefixed frames.
//
// It owns both sides of that: the parent's executor (spawn, heartbeat,
// stop and kill, the child's stderr and how it ended), the child's control
// channel (hello, readiness, pings, stop, the end of what it started), and
// Call and Dial across the process line. It must not touch supervision
// (restarts, events, status) or fx: the supervisor and the app own those,
// and see a child only as an executor's run.
package proc
