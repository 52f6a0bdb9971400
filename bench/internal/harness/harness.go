// Package harness times operations the way the benchmarks compare them:
// warm-up, samples sized to a target duration, round robin between the
// contestants, and medians.
package harness

import (
	"fmt"
	"runtime"
	"slices"
	"time"
)

// A Sampler does n operations and returns how long they took, leaving out
// whatever set-up and tear-down it does not want timed. aux is an optional
// second figure for the same n operations, such as the untimed stop after a
// timed start; zero when the sampler has none.
type Sampler func(n int) (took, aux time.Duration, err error)

// Plan says how hard to measure.
type Plan struct {
	Samples int           // timed samples per sampler, after the warm-up
	Target  time.Duration // what one sample should take
	MaxN    int           // most operations in one sample
}

// Result is what Measure found for one sampler; durations are per
// operation.
type Result struct {
	PerOp   time.Duration   // median over the samples
	Aux     time.Duration   // median aux
	Lo, Hi  time.Duration   // fastest and slowest sample
	N       int             // operations per sample
	Allocs  float64         // heap allocations, median
	Samples []time.Duration // each round's time per operation, in round order
}

// Measure runs each sampler to warm up and to size its samples, then takes
// p.Samples samples of each, round robin, so that a slow spell of the
// machine hits every sampler alike. It reports the median of each.
func Measure(p Plan, ss ...Sampler) ([]Result, error) {
	ns := make([]int, len(ss))
	for i, s := range ss {
		n, err := calibrate(p, s)
		if err != nil {
			return nil, err
		}
		ns[i] = n
	}
	per := make([][]time.Duration, len(ss))
	aux := make([][]time.Duration, len(ss))
	allocs := make([][]float64, len(ss))
	var before, after runtime.MemStats
	for range p.Samples {
		for i, s := range ss {
			runtime.GC() // the previous sample's garbage is not this one's cost
			runtime.ReadMemStats(&before)
			took, a, err := s(ns[i])
			runtime.ReadMemStats(&after)
			if err != nil {
				return nil, err
			}
			per[i] = append(per[i], took/time.Duration(ns[i]))
			aux[i] = append(aux[i], a/time.Duration(ns[i]))
			allocs[i] = append(allocs[i], float64(after.Mallocs-before.Mallocs)/float64(ns[i]))
		}
	}
	out := make([]Result, len(ss))
	for i := range ss {
		out[i] = Result{
			PerOp:   Median(per[i]),
			Aux:     Median(aux[i]),
			Lo:      slices.Min(per[i]),
			Hi:      slices.Max(per[i]),
			N:       ns[i],
			Allocs:  Median(allocs[i]),
			Samples: per[i],
		}
	}
	return out, nil
}

// Ratio is how one result compares with another: the median of the
// ratios of their samples round by round, and the quartiles of those
// ratios, which say how far a noisy machine moved it.
type Ratio struct {
	Median, Lo, Hi float64
}

// Compare returns the ratio of a to b. Results that Measure took together
// pair their samples by round, so that a slow spell, which hits both
// samples of a round alike, cancels out. Results taken apart, or with
// different numbers of samples, give the ratio of their medians, between
// the ratio of a's fastest to b's slowest sample and the reverse.
func Compare(a, b Result) Ratio {
	if len(a.Samples) == 0 || len(a.Samples) != len(b.Samples) {
		return Ratio{
			Median: float64(a.PerOp) / float64(b.PerOp),
			Lo:     float64(a.Lo) / float64(b.Hi),
			Hi:     float64(a.Hi) / float64(b.Lo),
		}
	}
	rs := make([]float64, len(a.Samples))
	for i := range rs {
		rs[i] = float64(a.Samples[i]) / float64(b.Samples[i])
	}
	slices.Sort(rs)
	return Ratio{Median: Median(rs), Lo: quantile(rs, 0.25), Hi: quantile(rs, 0.75)}
}

// quantile returns the q-quantile of sorted xs, interpolating between
// neighbours.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (xs[i+1]-xs[i])*(pos-float64(i))
}

// Inverse is the ratio of b to a: for a figure where more is better, such
// as throughput from time per operation.
func (r Ratio) Inverse() Ratio { return Ratio{Median: 1 / r.Median, Lo: 1 / r.Hi, Hi: 1 / r.Lo} }

// calibrate warms s up and returns how many operations fill one sample.
func calibrate(p Plan, s Sampler) (int, error) {
	n := 1
	for range 3 {
		took, _, err := s(n)
		if err != nil {
			return 0, err
		}
		per := max(took/time.Duration(n), time.Nanosecond)
		next := min(max(int(p.Target/per), 1), p.MaxN)
		if next <= n*2 && n > 1 { // close enough: this run was the warm-up
			return next, nil
		}
		n = next
	}
	return n, nil
}

// Median returns the median of xs, or zero for none.
func Median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Wait waits for c, for at most d; only a broken library or peer needs
// that long.
func Wait[T any](c <-chan T, d time.Duration, what string) error {
	select {
	case <-c:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s: nothing after %v", what, d)
	}
}
