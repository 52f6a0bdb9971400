package ops

import "github.com/jonboulle/clockwork"

// WithClock makes the module wait its shutdown delay on c.
func WithClock(c clockwork.Clock) Option { return clockOption{c} }

type clockOption struct{ c clockwork.Clock }

func (o clockOption) apply(s *settings) { s.clock = o.c }
func (o clockOption) String() string    { return "ops.WithClock" }
