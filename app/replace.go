package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrNotReplaceable is wrapped by Replace's errors about a service that
// can never be replaced: no service has the name, or it does not run in a
// child process.
var ErrNotReplaceable = errors.New("cannot be replaced")

// Replace replaces the running child of the process-mode service called
// name with a fresh one, without a gap in service: it starts a new child
// beside the old one, which serves on meanwhile, and once the new child has
// started (for a service with lifecycle.WaitForReady, once it is ready),
// new calls and connections go to it (Call, Dial, a Client). The old child
// then stops, in order, once the calls and connections it had taken have
// ended, or half its stop timeout has passed; Replace returns once it has.
// The new child runs the app's own executable, as every child does (a new
// build on disk needs the app restarted), and reads the configuration
// afresh, so its files' changes reach it. Status shows the new child's PID from
// the switch on; the service stays running throughout, and its restarts
// are not counted. The lifecycle.Replacing and lifecycle.Replaced events
// report the replacement.
//
// With replicas, name replaces each replica in turn, each once the one
// before it has finished, so the pool never has fewer running replicas;
// a replica's own name (worker#2) replaces that one. Replace stops at the
// first replica it cannot replace and returns why.
//
// A new child that fails to start, within the service's start timeout,
// leaves the old one serving: Replace returns why, naming the service, and
// the service's status keeps it as its last error. So does a replacement
// that ctx or the app's stop cuts short before the switch; after the
// switch, ctx's end only cuts short the wait for the old child's calls,
// and Replace still waits for that child to end, so it never leaves one
// behind. A service that is not running (starting, restarting, stopped) is
// an error naming its state. A Replace while another of the same service is
// under way waits for it, within ctx, and then replaces the child that one
// started. The app's stop waits for a replacement under way.
//
// A service that runs in this process (the other three modes) cannot be
// replaced: it has one instance, which a second run would share, so the
// error, wrapping ErrNotReplaceable, names its mode. A child process
// cannot replace services either. For two children to run at once, a
// service that listens on a fixed address must let a second listener share
// it (SO_REUSEPORT), or its new child fails to start and the old one serves
// on.
func (s *Supervisor) Replace(ctx context.Context, name string) error {
	if err := s.built("app.Replace", name); err != nil {
		return err
	}
	return s.host.replace(ctx, name)
}

func (h *host) replace(ctx context.Context, name string) error {
	h.mu.Lock()
	members := slices.Clone(h.routes[name])
	h.mu.Unlock()
	switch {
	case h.child != nil:
		return fmt.Errorf("app.Replace: service %q: a child process cannot replace services; its parent replaces the child", name)
	case len(members) == 0:
		return fmt.Errorf("app.Replace: no service is called %q: %w", name, ErrNotReplaceable)
	case !members[0].spec.mode.Process():
		return fmt.Errorf("app.Replace: service %q (%v) runs in this process and has one instance; only a process-mode service's child can be replaced: %w",
			name, members[0].spec.mode, ErrNotReplaceable)
	}
	for _, m := range members {
		if err := m.svc.Replace(ctx); err != nil {
			return fmt.Errorf("app.Replace: %w", err)
		}
	}
	return nil
}
