package chans

// Closed reports, without blocking, whether c is closed. A nil channel is
// never closed.
func Closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Done is a channel that is already closed.
var Done <-chan struct{} = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
