// Package liveness tells whether an app's supervisor still answers: the
// check behind the ops module's /livez and the systemd module's watchdog.
//
// It owns one thing, a Probe that asks for the supervisor's Status with a
// deadline. It must not start, stop or change anything in the app: it
// only reads.
package liveness
