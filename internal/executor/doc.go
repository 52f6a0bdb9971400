// Package executor launches one run of a service in one of the in-process
// execution modes: on the main loop, on a thread of its own, or on a loop
// of its own on a thread of its own.
//
// It owns how a run happens: the run's context, its thread, its view of a
// loop, waiting for its end, how its signs of life reach the watchdog (a
// blocking run's lifecycle.Alive, a loop's probes) and where it is stuck
// (its goroutines' stacks). It must not touch timeouts, restarts,
// events or status: the supervisor owns those, so every mode is supervised
// alike. It knows nothing of fx or of the app.
package executor
