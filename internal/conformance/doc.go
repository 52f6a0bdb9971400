// Package conformance holds hostfx's conformance suite: one table of
// scenarios, each run against all five execution modes, that asserts the
// same normalised event sequence and the same final Status in every mode.
//
// # What it checks
//
// A scenario registers one service, named "svc", whose behaviour the row
// describes (how it starts, what it does when the test triggers it, how it
// treats its context at the stop), with the row's lifecycle options. The
// test drives the app through the public API only (app.New, Start, Stop,
// Wait, Supervisor.Status and app.Observe for the events) and then compares
// what it saw with the row:
//
//   - the service's events, each reduced to its kind, the attempt or
//     restart count where it has one, and the class of its error (error,
//     panic, timeout, norestart), in order;
//   - the final Status: state, restart count and the class of LastError;
//   - the errors of Start and Stop, by class, and whether the app was told
//     to stop with exit code 1.
//
// The expectations are written once per row, not per mode: a row that
// needs an expectation per mode is a divergence between modes, and the
// suite exists to find those. A row the modes do not agree on yet waits,
// with what differs, in a file known_divergences_test.go.txt, which is
// not compiled, until the code agrees and the row moves into the table;
// there is none today.
//
// The rows: an error return, a panic, a crash while starting, a readiness
// timeout, a hang at stop, the context honoured and ignored, a watchdog
// miss, each restart policy with each strategy, intensity reached with
// and without FailAlone, and a stop during backoff.
//
// # Process modes
//
// SEPARATE_PROCESS and SEPARATE_PROCESS_ASYNC rows run real children: the
// test binary started again with app.Test, which re-runs only the calling
// subtest, so the child builds the same app and runs the same service. The
// test triggers a service in a child with SIGUSR1, and one in this process
// through a channel; the service's reaction is the same code in both. What
// must outlive a child, such as the count of a service's runs, lives in a
// directory that TestMain names in the environment, which children inherit.
//
// # Timing
//
// Delays and timeouts are short, so the suite is quick, and nothing it
// asserts depends on them being met: a row waits for events with a
// generous deadline and never measures how long anything took.
//
// The package has no non-test code: this file only documents it.
package conformance
