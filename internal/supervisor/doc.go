// Package supervisor drives one service through its life: it launches runs
// through an executor, applies the start and stop timeouts and the
// watchdog, restarts failed or hung runs by the service's strategy, policy
// and intensity, and reports every step as a lifecycle event, with where a
// run was stuck when it hung or ignored its stop.
//
// It also replaces a run with a second one without a gap: the new run
// starts beside the old, takes over once started, and the old one stops
// once the leases taken on it (calls under way) have ended.
//
// It owns a service's state, its restarts, its replacements and its
// Status. It is the only caller of the executors, so every execution mode
// is supervised alike. It must not know how a run happens (a thread, a
// loop, a child: the executors' part) nor anything of fx, names or the
// graph (the app's part); which services may be replaced is the app's
// decision too.
package supervisor
