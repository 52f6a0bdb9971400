package conformance_test

import (
	"time"

	"github.com/hostfx/hostfx/lifecycle"
)

// row is one scenario, with what every mode must show for it.
type row struct {
	name string
	behaviour
	opts []lifecycle.Option
	// steps drive the app between a successful start and the stop.
	steps []step
	// quietChild gives a process-mode child the same quiet logger as the
	// test's app, instead of the default one, which writes to stderr.
	quietChild bool

	wantStart    string   // class of Start's error ("" for none)
	wantEvents   []string // the service's events, normalised
	wantStop     string   // class of Stop's error
	wantState    lifecycle.State
	wantRestarts int
	wantLastErr  string // class of Status.LastError
	wantExit1    bool   // the app is told to stop with exit code 1
}

// watchdogPeriod is long enough that a loaded machine does not make a
// healthy run miss it.
const watchdogPeriod = time.Second

// A step is one thing a row does to, or waits for in, the running app.
type step func(*harness)

// trigger makes the run behind the n-th successful start act.
func trigger(n int) step { return func(h *harness) { h.trigger(n) } }

// await waits for the n-th event whose normalised form is want.
func await(want string, n int) step { return func(h *harness) { h.await(want, n) } }

// awaitState waits for the service's Status to reach state.
func awaitState(state lifecycle.State) step { return func(h *harness) { h.awaitState(state) } }

// Short delays and timeouts: they keep the suite quick, and no row
// depends on them being met.
const (
	short    = 20 * time.Millisecond
	stopSoon = 50 * time.Millisecond
)

// strategies are the restart strategies every policy is run with.
var strategies = []lifecycle.Strategy{
	lifecycle.Immediate(),
	lifecycle.FixedBackoff(short),
	lifecycle.ExponentialBackoff(short, 4*short, short),
	lifecycle.LinearBackoff(short, 4*short),
}

// failOnce is a run that fails once, is restarted and is then stopped.
var failOnce = []string{"Starting", "Started", "Crashed!error", "Restarting#1!error", "Starting", "Started", "Stopping", "Stopped"}

// rows is the table. Every row runs in every mode.
func rows() []row {
	rs := []row{
		{
			name:       "error-return",
			behaviour:  behaviour{act: actError},
			opts:       []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate())},
			steps:      []step{trigger(1), await("Started", 2)},
			wantEvents: failOnce,
			wantState:  lifecycle.StateStopped, wantRestarts: 1, wantLastErr: "error",
		},
		{
			name:       "panic",
			behaviour:  behaviour{act: actPanic},
			opts:       []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate())},
			steps:      []step{trigger(1), await("Started", 2)},
			wantEvents: []string{"Starting", "Started", "Crashed!panic", "Restarting#1!panic", "Starting", "Started", "Stopping", "Stopped"},
			wantState:  lifecycle.StateStopped, wantRestarts: 1, wantLastErr: "panic",
		},
		{
			name:       "crash-while-starting-error",
			behaviour:  behaviour{start: startError},
			opts:       []lifecycle.Option{lifecycle.WaitForReady()},
			wantStart:  "error",
			wantEvents: []string{"Starting", "Started!error"},
			wantState:  lifecycle.StateStopped, wantLastErr: "error",
		},
		{
			name:       "crash-while-starting-panic",
			behaviour:  behaviour{start: startPanic},
			opts:       []lifecycle.Option{lifecycle.WaitForReady()},
			wantStart:  "panic",
			wantEvents: []string{"Starting", "Started!panic"},
			wantState:  lifecycle.StateStopped, wantLastErr: "panic",
		},
		{
			name:       "readiness-timeout",
			behaviour:  behaviour{start: startNever},
			opts:       []lifecycle.Option{lifecycle.WaitForReady(), lifecycle.StartTimeout(stopSoon)},
			wantStart:  "timeout",
			wantEvents: []string{"Starting", "Started!timeout"},
			wantState:  lifecycle.StateStopped, wantLastErr: "timeout",
		},
		{
			name:      "readiness-timeout-ctx-ignored",
			behaviour: behaviour{start: startNeverDeaf},
			opts: []lifecycle.Option{lifecycle.WaitForReady(), lifecycle.StartTimeout(stopSoon),
				lifecycle.StopTimeout(stopSoon)},
			wantStart:  "timeout",
			wantEvents: []string{"Starting", "Started!timeout"},
			wantState:  lifecycle.StateStopped, wantLastErr: "timeout",
		},
		{
			name:       "ctx-honoured",
			behaviour:  behaviour{stop: stopHonour},
			wantEvents: []string{"Starting", "Started", "Stopping", "Stopped"},
			wantState:  lifecycle.StateStopped,
		},
		{
			// lifecycle.Ready does nothing for a service without
			// WaitForReady: its start is reported once, by whoever runs it
			// (for an async service under IMMEDIATE, its loop). A race
			// showed this: run it with -count=200 after a change here.
			name:       "ready-without-wait-for-ready",
			behaviour:  behaviour{readyAlways: true},
			opts:       []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate())},
			wantEvents: []string{"Starting", "Started", "Stopping", "Stopped"},
			wantState:  lifecycle.StateStopped,
		},
		stopTimeoutRow("ctx-ignored", stopDeaf),
		stopTimeoutRow("hang-at-stop", stopHang),
		{
			// A panic's stack is in the Crashed event whatever the program
			// logs, here nothing (app.Logger(zap.NewNop()) in a child as
			// here): a child sends it over its control channel.
			name:       "panic-logged-elsewhere",
			behaviour:  behaviour{act: actPanic},
			opts:       []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate())},
			steps:      []step{trigger(1), await("Started", 2)},
			quietChild: true,
			wantEvents: []string{"Starting", "Started", "Crashed!panic", "Restarting#1!panic", "Starting", "Started", "Stopping", "Stopped"},
			wantState:  lifecycle.StateStopped, wantRestarts: 1, wantLastErr: "panic",
		},
		{
			// A failure is reported, and the policy applied, even though
			// other work of the service ignores its context.
			name:       "crash-while-work-ignores-ctx",
			behaviour:  behaviour{act: actPanic, sideWork: true},
			opts:       []lifecycle.Option{lifecycle.Intensity(0, time.Minute)},
			steps:      []step{trigger(1), await("GaveUp#0!panic", 1)},
			wantEvents: []string{"Starting", "Started", "Crashed!panic", "GaveUp#0!panic"},
			wantState:  lifecycle.StateFailed, wantLastErr: "panic", wantExit1: true,
		},
		{
			// A restart that fails to start is one more failure, and is
			// restarted in its turn.
			name:      "restart-fails-to-start",
			behaviour: behaviour{act: actError, failStartOfRun: 2},
			opts:      []lifecycle.Option{lifecycle.WaitForReady(), lifecycle.Restart(lifecycle.Immediate())},
			steps:     []step{trigger(1), await("Started", 2)},
			wantEvents: []string{
				"Starting", "Started", "Crashed!error", "Restarting#1!error",
				"Starting", "Started!error", "Crashed!error", "Restarting#2!error",
				"Starting", "Started", "Stopping", "Stopped",
			},
			wantState: lifecycle.StateStopped, wantRestarts: 2, wantLastErr: "error",
		},
		{
			// A run that fails as soon as it is ready started, and then
			// failed: readiness wins, in a child as here. A race showed
			// this: run it with -count=100 after a change here.
			name:       "crash-right-after-ready",
			behaviour:  behaviour{act: actError, atOnce: true},
			opts:       []lifecycle.Option{lifecycle.WaitForReady(), lifecycle.Intensity(0, time.Hour)},
			steps:      []step{await("GaveUp#0!error", 1)},
			wantEvents: []string{"Starting", "Started", "Crashed!error", "GaveUp#0!error"},
			wantState:  lifecycle.StateFailed, wantLastErr: "error", wantExit1: true,
		},
		{
			name:       "clean-exit-on-failure-policy",
			behaviour:  behaviour{act: actExit},
			steps:      []step{trigger(1), await("Exited", 1)},
			wantEvents: []string{"Starting", "Started", "Exited"},
			wantState:  lifecycle.StateExited,
		},
		{
			name:       "no-restart-always-policy",
			behaviour:  behaviour{act: actNoRestart},
			opts:       []lifecycle.Option{lifecycle.RestartPolicy(lifecycle.Always)},
			steps:      []step{trigger(1), await("Exited!norestart", 1)},
			wantEvents: []string{"Starting", "Started", "Exited!norestart"},
			wantState:  lifecycle.StateExited,
		},
		intensityRow(false),
		intensityRow(true),
		{
			name:       "stop-during-backoff",
			behaviour:  behaviour{act: actError},
			opts:       []lifecycle.Option{lifecycle.Restart(lifecycle.FixedBackoff(time.Hour))},
			steps:      []step{trigger(1), await("Restarting#1!error", 1), awaitState(lifecycle.StateBackoff)},
			wantEvents: []string{"Starting", "Started", "Crashed!error", "Restarting#1!error", "Stopping", "Stopped"},
			wantState:  lifecycle.StateStopped, wantLastErr: "error",
		},
		{
			// A run that shows no sign of life for its watchdog period is
			// hung, in every mode: a blocking run that stops calling
			// Alive, a loop held by a callback. The run is stopped (a
			// child is killed), and the policy restarts it.
			name:      "watchdog-miss",
			behaviour: behaviour{act: actWedge},
			opts: []lifecycle.Option{lifecycle.Watchdog(watchdogPeriod), lifecycle.Restart(lifecycle.Immediate()),
				lifecycle.StopTimeout(time.Minute)},
			steps: []step{trigger(1), await("Crashed!timeout", 1), await("Started", 2)},
			wantEvents: []string{"Starting", "Started", "Crashed!timeout", "Restarting#1!timeout", "Starting", "Started",
				"Stopping", "Stopped"},
			wantState: lifecycle.StateStopped, wantRestarts: 1, wantLastErr: "timeout",
		},
	}
	for _, s := range strategies {
		rs = append(rs, policyRows(s)...)
	}
	return rs
}

// stopTimeoutRow is a service that does not stop in time, as how says: a
// *lifecycle.TimeoutError in every mode, where a process mode kills the
// child and its error wraps one.
func stopTimeoutRow(name string, how stopHow) row {
	return row{
		name:       name,
		behaviour:  behaviour{stop: how},
		opts:       []lifecycle.Option{lifecycle.StopTimeout(stopSoon)},
		wantEvents: []string{"Starting", "Started", "Stopping", "Stopped!timeout"},
		wantStop:   "timeout",
		wantState:  lifecycle.StateStopped,
	}
}

// intensityRow fails three times under an intensity of two restarts: the
// third failure gives up, which stops the app unless the service fails
// alone.
func intensityRow(alone bool) row {
	r := row{
		name:      "intensity-reached",
		behaviour: behaviour{act: actError},
		opts:      []lifecycle.Option{lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Hour)},
		steps:     []step{trigger(1), trigger(2), trigger(3), await("GaveUp#2!error", 1)},
		wantEvents: []string{
			"Starting", "Started", "Crashed!error", "Restarting#1!error",
			"Starting", "Started", "Crashed!error", "Restarting#2!error",
			"Starting", "Started", "Crashed!error", "GaveUp#2!error",
		},
		wantState: lifecycle.StateFailed, wantRestarts: 2, wantLastErr: "error", wantExit1: !alone,
	}
	if alone {
		r.name += "-fail-alone"
		r.opts = append(r.opts, lifecycle.FailAlone())
	}
	return r
}

// policyRows are each restart policy under strategy s.
func policyRows(s lifecycle.Strategy) []row {
	kind := s.Kind.String()
	return []row{
		{
			name:       "policy-ON_FAILURE-" + kind,
			behaviour:  behaviour{act: actError},
			opts:       []lifecycle.Option{lifecycle.Restart(s), lifecycle.RestartPolicy(lifecycle.OnFailure)},
			steps:      []step{trigger(1), await("Started", 2)},
			wantEvents: failOnce,
			wantState:  lifecycle.StateStopped, wantRestarts: 1, wantLastErr: "error",
		},
		{
			name:       "policy-ALWAYS-" + kind,
			behaviour:  behaviour{act: actExit},
			opts:       []lifecycle.Option{lifecycle.Restart(s), lifecycle.RestartPolicy(lifecycle.Always)},
			steps:      []step{trigger(1), await("Started", 2)},
			wantEvents: []string{"Starting", "Started", "Exited", "Restarting#1", "Starting", "Started", "Stopping", "Stopped"},
			wantState:  lifecycle.StateStopped, wantRestarts: 1,
		},
		{
			name:       "policy-NEVER-" + kind,
			behaviour:  behaviour{act: actError},
			opts:       []lifecycle.Option{lifecycle.Restart(s), lifecycle.RestartPolicy(lifecycle.Never)},
			steps:      []step{trigger(1), await("GaveUp#0!error", 1)},
			wantEvents: []string{"Starting", "Started", "Crashed!error", "GaveUp#0!error"},
			wantState:  lifecycle.StateFailed, wantLastErr: "error", wantExit1: true,
		},
	}
}
