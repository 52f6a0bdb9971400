package harness

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		give []int64
		want int64
	}{
		{give: nil, want: 0},
		{give: []int64{7}, want: 7},
		{give: []int64{9, 1, 5}, want: 5},
		{give: []int64{4, 1, 3, 2}, want: 2}, // (2+3)/2 in integers
	}
	for _, tt := range tests {
		if got := Median(tt.give); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestMeasureSizesSamplesToTheTarget(t *testing.T) {
	const per = 10 * time.Microsecond
	var calls []int
	fake := func(n int) (time.Duration, time.Duration, error) {
		calls = append(calls, n)
		return per * time.Duration(n), time.Duration(n), nil
	}
	rs, err := Measure(Plan{Samples: 3, Target: time.Millisecond, MaxN: 1000}, fake)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.N != 100 || r.PerOp != per || r.Lo != per || r.Hi != per || r.Aux != 1 {
		t.Errorf("got %+v, want 100 operations a sample of %v each, aux 1", r, per)
	}
	if last := calls[len(calls)-3:]; last[0] != 100 || last[1] != 100 || last[2] != 100 {
		t.Errorf("samples of %v operations, want 3 of 100", last)
	}
}

func TestMeasureCapsOperations(t *testing.T) {
	fake := func(n int) (time.Duration, time.Duration, error) { return time.Duration(n), 0, nil }
	rs, err := Measure(Plan{Samples: 1, Target: time.Second, MaxN: 50}, fake)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].N != 50 {
		t.Errorf("N = %d, want the cap, 50", rs[0].N)
	}
}
