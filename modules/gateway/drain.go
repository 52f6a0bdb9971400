package gateway

import (
	"context"
	"fmt"
	"sync"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// stop stops taking requests and waits, up to the drain timeout, for those
// under way, upgraded connections included; then it cuts the rest. The
// gate's OnStop runs it before any service stops; the server's own OnStop
// runs it again, which does nothing then, or does it after a failed start.
func (s *Server) stop(ctx context.Context) error {
	s.mu.Lock()
	srv, gw, backends, served, cut := s.srv, s.gw, s.backends, s.served, s.cut
	s.addr, s.srv = "", nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	defer func() {
		cut()
		<-served
		for _, b := range backends {
			if b.close != nil {
				b.close()
			}
		}
		s.log.Info("gateway closed")
	}()

	budget, cancel := clockwork.WithTimeout(ctx, s.settings.clock, s.settings.DrainTimeout)
	defer cancel()
	s.log.Info("gateway draining", zap.Int("requests", gw.inflight.count()))
	// Shutdown closes the listener at once, then waits for the requests on
	// its connections; an upgraded connection is no longer its, so the
	// handlers are waited for too.
	err := srv.Shutdown(budget)
	if err == nil {
		err = gw.inflight.wait(budget)
	}
	if err == nil {
		return nil
	}
	s.log.Warn("gateway: requests cut at the end of the drain timeout",
		zap.Int("requests", gw.inflight.count()), zap.Duration("drain_timeout", s.settings.DrainTimeout))
	cut()
	gw.hijacked.closeAll()
	_ = srv.Close() // its error is the listener's, closed already
	if err := gw.inflight.wait(ctx); err != nil {
		return fmt.Errorf("gateway: %d requests still run after they were cut: %w", gw.inflight.count(), err)
	}
	return nil
}

// tracker counts the requests under way.
type tracker struct {
	mu   sync.Mutex
	n    int
	none chan struct{} // closed when n drops to 0, while someone waits
}

func (t *tracker) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n--; t.n == 0 && t.none != nil {
		close(t.none)
		t.none = nil
	}
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// wait returns when no request is under way, or ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.none == nil {
		t.none = make(chan struct{})
	}
	none := t.none
	t.mu.Unlock()
	select {
	case <-none:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
