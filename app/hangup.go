package app

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"go.uber.org/zap"
)

// hangups replaces, on each SIGHUP App.Run gets, the services registered
// with lifecycle.ReplaceOnHangup, one after another in start order. A nil
// *hangups, for an app where no service asks for it, does nothing, and
// SIGHUP keeps its default effect there.
type hangups struct {
	sigs   chan os.Signal
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when serve's goroutine has ended; nil before serve
}

// watchHangups listens for SIGHUP in an app where a service asks to be
// replaced on it. It listens from before the start, so a SIGHUP that comes
// meanwhile waits for the services to have started.
func (h *host) watchHangups() *hangups {
	if h.child != nil || len(h.hangupServices()) == 0 {
		return nil
	}
	w := &hangups{sigs: make(chan os.Signal, 1)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	signal.Notify(w.sigs, syscall.SIGHUP)
	return w
}

// serve replaces the services on each SIGHUP until quit.
func (w *hangups) serve(h *host) {
	if w == nil {
		return
	}
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.sigs:
				h.replaceOnHangup(w.ctx)
			case <-w.ctx.Done():
				return
			}
		}
	}()
}

// quit ends the replacements and cuts short one under way (see
// Supervisor.Replace): the app is stopping, and its stop waits for the
// replacement. A SIGHUP from now on is taken and ignored, until end.
func (w *hangups) quit() {
	if w == nil {
		return
	}
	w.cancel()
}

// end quits, waits for serve's goroutine to end and gives SIGHUP its
// default effect back.
func (w *hangups) end() {
	if w == nil {
		return
	}
	w.quit()
	if w.done != nil {
		<-w.done
	}
	signal.Stop(w.sigs)
}

// hangupServices names the registrations whose services ask to be replaced
// on SIGHUP, in start order; the replicas of one share its settings.
func (h *host) hangupServices() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for _, m := range h.members {
		if m.svc.Settings.ReplaceOnHangup && !slices.Contains(names, m.spec.decl.name) {
			names = append(names, m.spec.decl.name)
		}
	}
	return names
}

// replaceOnHangup replaces the services that ask for it, one after
// another; one it cannot replace is logged, and the next one is replaced
// all the same.
func (h *host) replaceOnHangup(ctx context.Context) {
	if ctx.Err() != nil {
		return // the app is stopping
	}
	names := h.hangupServices()
	h.log.Info("SIGHUP: replacing services", zap.Strings("services", names))
	for _, name := range names {
		if ctx.Err() != nil {
			return // the app is stopping
		}
		h.mu.Lock()
		mode := h.routes[name][0].spec.mode
		h.mu.Unlock()
		if !mode.Process() {
			h.log.Warn("SIGHUP: not replaced: the service runs in this process, with one instance",
				zap.String("service", name), zap.Stringer("mode", mode))
			continue
		}
		if err := h.replace(ctx, name); err != nil {
			h.log.Error("SIGHUP: not replaced", zap.String("service", name), zap.Error(err))
		}
	}
}
