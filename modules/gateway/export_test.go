package gateway

import "github.com/jonboulle/clockwork"

// WithClock makes the gateway time its drain and restarts on c.
func WithClock(c clockwork.Clock) Option { return clockOption{c} }

type clockOption struct{ c clockwork.Clock }

func (o clockOption) apply(s *settings) { s.clock = o.c }
func (o clockOption) String() string    { return "gateway.WithClock" }

// CloseIdle closes the gateway's idle connections to its services, as
// they would close once idle for long enough.
func (s *Server) CloseIdle() {
	s.mu.Lock()
	backends := s.backends
	s.mu.Unlock()
	for _, b := range backends {
		if b.close != nil {
			b.close()
		}
	}
}
