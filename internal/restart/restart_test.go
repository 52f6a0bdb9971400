package restart_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/internal/restart"
	"github.com/hostfx/hostfx/lifecycle"
)

func delays(s lifecycle.Strategy, n int, rng *rand.Rand) []time.Duration {
	out := make([]time.Duration, n)
	for k := range out {
		out[k] = restart.Delay(s, k, rng)
	}
	return out
}

func TestBackoffSequences(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		give lifecycle.Strategy
		want []time.Duration
	}{
		{"immediate", lifecycle.Immediate(), []time.Duration{0, 0, 0, 0}},
		{"fixed", lifecycle.FixedBackoff(3 * s), []time.Duration{3 * s, 3 * s, 3 * s, 3 * s}},
		{"fixed default", lifecycle.DefaultStrategy(lifecycle.StrategyFixedBackoff), []time.Duration{5 * s, 5 * s}},
		{"linear", lifecycle.LinearBackoff(2*s, 7*s), []time.Duration{2 * s, 4 * s, 6 * s, 7 * s, 7 * s}},
		{"linear default", lifecycle.DefaultStrategy(lifecycle.StrategyLinearBackoff), []time.Duration{s, 2 * s, 3 * s, 4 * s}},
		{"exponential", lifecycle.ExponentialBackoff(s, 10*s, 0), []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s, 10 * s}},
		{"exponential never overflows", lifecycle.ExponentialBackoff(s, time.Hour, 0), []time.Duration{
			s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 512 * s, 1024 * s, 2048 * s, time.Hour, time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, delays(tt.give, len(tt.want), rand.New(rand.NewPCG(1, 2))))
		})
	}
	assert.Equal(t, time.Hour, restart.Delay(lifecycle.ExponentialBackoff(s, time.Hour, 0), 200, nil), "huge attempts stay capped")
}

func TestExponentialJitter(t *testing.T) {
	s := lifecycle.Strategy{} // the default: 1s doubling to 60s, jitter up to 5s
	rng := rand.New(rand.NewPCG(7, 7))
	for k := range 10 {
		base := min(time.Second<<k, time.Minute)
		jitter := min(5*time.Second, base/2)
		for range 200 {
			d := restart.Delay(s, k, rng)
			assert.GreaterOrEqual(t, d, base, "attempt %d", k)
			assert.LessOrEqual(t, d, base+jitter, "attempt %d: the jitter is at most min(5s, half the delay)", k)
		}
	}
	a := delays(s, 20, rand.New(rand.NewPCG(42, 1)))
	b := delays(s, 20, rand.New(rand.NewPCG(42, 1)))
	assert.Equal(t, a, b, "a fixed seed gives the same delays")
	c := delays(s, 20, rand.New(rand.NewPCG(43, 1)))
	assert.NotEqual(t, a, c, "jitter is random")
	d := restart.Delay(s, 0, nil) // the global source
	assert.GreaterOrEqual(t, d, time.Second)
	assert.LessOrEqual(t, d, 1500*time.Millisecond)
}

func TestJitterIsBoundedByTheDelay(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name      string
		give      lifecycle.Strategy
		attempt   int
		wantLeast time.Duration
		wantMost  time.Duration
	}{
		{"default first restart", lifecycle.DefaultStrategy(lifecycle.StrategyExponentialBackoff), 0, time.Second, 1500 * ms},
		{"zero value first restart", lifecycle.Strategy{}, 0, time.Second, 1500 * ms},
		{"default second restart", lifecycle.Strategy{}, 1, 2 * time.Second, 3 * time.Second},
		{"at the cap the jitter is maxJitter", lifecycle.Strategy{}, 10, time.Minute, time.Minute + 5*time.Second},
		{"a small maxJitter wins", lifecycle.ExponentialBackoff(time.Second, time.Minute, 100*ms), 0, time.Second, 1100 * ms},
		{"a tiny delay gets a tiny jitter", lifecycle.ExponentialBackoff(10*ms, time.Minute, time.Hour), 0, 10 * ms, 15 * ms},
		{"no delay, no jitter", lifecycle.ExponentialBackoff(0, time.Minute, time.Hour), 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var lo, hi time.Duration = time.Duration(1<<63 - 1), 0
			for range 2000 {
				d := restart.Delay(tt.give, tt.attempt, rng)
				lo, hi = min(lo, d), max(hi, d)
			}
			assert.GreaterOrEqual(t, lo, tt.wantLeast)
			assert.LessOrEqual(t, hi, tt.wantMost)
			if tt.wantMost > tt.wantLeast {
				// 2000 draws spread over the whole range, not just its start.
				assert.Greater(t, hi, tt.wantLeast+(tt.wantMost-tt.wantLeast)*9/10, "the jitter uses its whole range")
			}
		})
	}
}

func TestWanted(t *testing.T) {
	boom := errors.New("boom")
	ends := []struct {
		name string
		err  error
	}{
		{"nil return", nil},
		{"error", boom},
		{"panic", fmt.Errorf("panic in Run: %w", boom)},
		{"do not restart", fmt.Errorf("done for good: %w", lifecycle.ErrNoRestart)},
	}
	want := map[lifecycle.Policy][]bool{
		lifecycle.Always:    {true, true, true, false},
		lifecycle.OnFailure: {false, true, true, false},
		lifecycle.Never:     {false, false, false, false},
	}
	for policy, restarts := range want {
		for i, end := range ends {
			assert.Equal(t, restarts[i], restart.Wanted(policy, end.err), "%v after %s", policy, end.name)
		}
	}
}
