package gateway

import "github.com/jonboulle/clockwork"

// WithClock makes the gateway time its drain and restarts on c.
func WithClock(c clockwork.Clock) Option { return clockOption{c} }

type clockOption struct{ c clockwork.Clock }

func (o clockOption) apply(s *settings) { s.clock = o.c }
func (o clockOption) String() string    { return "gateway.WithClock" }
