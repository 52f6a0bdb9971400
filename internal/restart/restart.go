package restart

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hostfx/hostfx/lifecycle"
)

// Delay returns the delay before restart number attempt, counting from 0,
// since the service last ran stably: immediate 0; fixed Delay; exponential
// d = min(Delay·2^attempt, Max) plus a jitter drawn uniformly from
// [0, min(MaxJitter, d/2)] with rng (or the global source when rng is
// nil); linear min(Delay·(attempt+1), Max). The zero Strategy is the
// default exponential backoff.
func Delay(s lifecycle.Strategy, attempt int, rng *rand.Rand) time.Duration {
	if s.Kind == 0 {
		s = lifecycle.DefaultStrategy(lifecycle.StrategyExponentialBackoff)
	}
	switch s.Kind {
	case lifecycle.StrategyFixedBackoff:
		return s.Delay
	case lifecycle.StrategyExponentialBackoff:
		d := s.Max
		if attempt < 62 && s.Delay <= s.Max>>attempt {
			d = s.Delay << attempt
		}
		// Bounded by the delay too: a jitter larger than the delay would
		// make a short first delay several times longer than asked for.
		if j := min(s.MaxJitter, d/2); j > 0 {
			if rng != nil {
				d += time.Duration(rng.Int64N(int64(j) + 1))
			} else {
				d += time.Duration(rand.Int64N(int64(j) + 1))
			}
		}
		return d
	case lifecycle.StrategyLinearBackoff:
		if n := time.Duration(attempt + 1); s.Delay <= s.Max/n {
			return s.Delay * n
		}
		return s.Max
	}
	return 0
}

// Wanted reports whether policy p restarts a service whose run ended with
// err: never after an error that wraps lifecycle.ErrNoRestart; always
// under Always, never under Never, and after a failure under OnFailure.
func Wanted(p lifecycle.Policy, err error) bool {
	if errors.Is(err, lifecycle.ErrNoRestart) {
		return false
	}
	switch p {
	case lifecycle.Always:
		return true
	case lifecycle.Never:
		return false
	}
	return err != nil
}
