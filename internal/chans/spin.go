package chans

import (
	"runtime"
	"time"
)

// SpinFor is how long a spin looks before it gives up: about what it costs
// to put a thread to sleep in the kernel and wake it again on this kind of
// machine, so a spin that fails costs at most twice what blocking would.
const SpinFor = 20 * time.Microsecond

// Spin calls ready until it reports true, for at most SpinFor, and reports
// whether it did. It is for a wait that another thread usually ends within
// microseconds, where blocking costs two trips through the kernel: one to
// sleep and one to be woken, tens of microseconds for a goroutine locked
// to its thread. Both sides of a round trip spin, each for at most
// SpinFor: a side that backed off after a miss would sleep while the
// other spins, and they would never find each other again.
//
// It never yields, since a goroutine that may be locked to its thread
// would sleep to yield; and with one P it only looks once, since spinning
// there keeps the other side from running.
func Spin(ready func() bool) bool {
	if ready() {
		return true
	}
	if runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	start := time.Now()
	for i := 1; ; i++ {
		if ready() {
			return true
		}
		if i%16 == 0 && time.Since(start) >= SpinFor {
			return false
		}
	}
}
