package chans

import (
	"runtime"
	"sync/atomic"
	"time"
)

// SpinFor is how long a spin looks before it gives up: about what it costs
// to put a thread to sleep in the kernel and wake it again on this kind of
// machine, so a spin that fails costs at most twice what blocking would.
const SpinFor = 20 * time.Microsecond

// retryEvery is how often a Spinner that found nothing last time tries
// again: one wait in this many.
const retryEvery = 16

// A Spinner looks for the end of a wait before the caller blocks, as long
// as looking pays. A wait that another thread usually ends within
// microseconds costs, when it blocks, two trips through the kernel: one to
// sleep and one to be woken, tens of microseconds for a goroutine locked
// to its thread. But a spin takes a CPU, and on a busy machine the thread
// that would end the wait may be waiting for that very CPU; so after a
// spin that found nothing, a Spinner blocks at once, and tries a spin
// again only every retryEvery waits, until one finds what it looked for.
//
// A Spinner never yields, since a goroutine that may be locked to its
// thread would sleep to yield; and with one P it never spins, since
// spinning there keeps the other side from running. The zero value is
// ready to use, and safe from any goroutine.
type Spinner struct {
	misses atomic.Uint32 // waits since the last spin that found its end, if it failed
}

// Spin calls ready until it reports true, for at most SpinFor, and reports
// whether it did.
func (s *Spinner) Spin(ready func() bool) bool {
	if ready() {
		return true
	}
	if m := s.misses.Load(); m > 0 && s.misses.Add(1)%retryEvery != 0 {
		return false
	}
	if runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	start := time.Now()
	for i := 1; ; i++ {
		if ready() {
			s.misses.Store(0)
			return true
		}
		if i%16 == 0 && time.Since(start) >= SpinFor {
			s.misses.CompareAndSwap(0, 1)
			return false
		}
	}
}
