package harness

import (
	"math"
	"testing"
	"time"
)

func near(t *testing.T, want, got float64, what string) {
	t.Helper()
	if math.Abs(want-got) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestCompareRoundByRound(t *testing.T) {
	// A slow spell (round 2) hits both alike: round by round the ratio
	// holds at 2, where the medians alone would not see that.
	a := Result{PerOp: 20, Lo: 20, Hi: 200, Samples: []time.Duration{20, 200, 22, 20, 24}}
	b := Result{PerOp: 11, Lo: 10, Hi: 100, Samples: []time.Duration{10, 100, 11, 10, 12}}
	got := Compare(a, b)
	near(t, 2.0, got.Median, "got.Median")
	near(t, 2.0, got.Lo, "got.Lo")
	near(t, 2.0, got.Hi, "got.Hi")

	inv := got.Inverse()
	near(t, 0.5, inv.Median, "inv.Median")
}

func TestCompareQuartiles(t *testing.T) {
	a := Result{Samples: []time.Duration{10, 20, 30, 40, 50}}
	b := Result{Samples: []time.Duration{10, 10, 10, 10, 10}}
	got := Compare(a, b)
	near(t, 3.0, got.Median, "got.Median")
	near(t, 2.0, got.Lo, "got.Lo")
	near(t, 4.0, got.Hi, "got.Hi")
}

func TestCompareApart(t *testing.T) {
	// Taken apart: the medians, bounded by fastest against slowest.
	a := Result{PerOp: 30, Lo: 20, Hi: 40, Samples: []time.Duration{20, 30, 40}}
	b := Result{PerOp: 10, Lo: 5, Hi: 20}
	got := Compare(a, b)
	near(t, 3.0, got.Median, "got.Median")
	near(t, 1.0, got.Lo, "got.Lo")
	near(t, 8.0, got.Hi, "got.Hi")
}
