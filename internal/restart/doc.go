// Package restart is the arithmetic of supervision: how long a service
// waits before restart number n under a lifecycle.Strategy, and whether a
// lifecycle.Policy restarts it after an end.
//
// It owns no state and no clock: the supervisor decides when, and keeps
// the attempts.
package restart
