// Package proc runs a process-mode service in a child process: the same
// binary re-executed, talking to its parent over an inherited socketpair
// with length-prefixed frames.
//
// It owns both sides of that: the parent's executor (spawn, resource
// limits by cgroup or rlimit, heartbeat, stop and kill, the child's stderr
// and how it ended), the child's control channel (hello, the go-ahead once
// its limits are set, readiness, pings, stop, the end of what it started),
// and Call and Dial across the process line. Of the app's cgroup it touches
// only what it makes below it for its children, and undoes that. It must not touch supervision
// (restarts, events, status) or fx: the supervisor and the app own those,
// and see a child only as an executor's run.
package proc
