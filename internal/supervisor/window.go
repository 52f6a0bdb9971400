package supervisor

import "time"

// window holds times in order, oldest first, and lets the oldest go in
// amortized constant time, however many it holds. It keeps them as
// nanoseconds, so a crash loop's thousands of entries give the garbage
// collector nothing to scan.
type window struct {
	times []int64
	head  int // times[:head] have been let go
}

func (w *window) len() int        { return len(w.times) - w.head }
func (w *window) add(t time.Time) { w.times = append(w.times, t.UnixNano()) }
func (w *window) reset()          { w.times, w.head = w.times[:0], 0 }

// dropUntil lets go of the times at or before cutoff.
func (w *window) dropUntil(cutoff time.Time) {
	c := cutoff.UnixNano()
	for w.head < len(w.times) && w.times[w.head] <= c {
		w.head++
	}
	if w.head > len(w.times)/2 { // compact once most of it is gone
		w.times = append(w.times[:0], w.times[w.head:]...)
		w.head = 0
	}
}
