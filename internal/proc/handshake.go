package proc

import "fmt"

// childFrames checks the order of what a child says on its control
// channel: a hello in this protocol's version first, then only what a
// child may send, never a second hello.
type childFrames struct{ helloed bool }

func (c *childFrames) check(f Frame) error {
	if !c.helloed {
		if f.Kind != KindHello {
			return fmt.Errorf("%w: first frame is %v, want hello", ErrProtocol, f.Kind)
		}
		if f.Version != Version {
			return fmt.Errorf("%w: child speaks version %d, want %d", ErrProtocol, f.Version, Version)
		}
		c.helloed = true
		return nil
	}
	switch f.Kind {
	case KindReady, KindStartFailed, KindPong, KindStopped, KindExited, KindFatal, KindAlive, KindSignaled, KindPanic:
		return nil
	}
	return fmt.Errorf("%w: unexpected %v from the child", ErrProtocol, f.Kind)
}

// readChild reads the child's frames, checks their order and passes them
// on to frames, until the stream ends or breaks the protocol; it returns
// why it stopped. It closes r.ready at the child's Ready straight from
// here, not after a hop to the control goroutine: the parent's start is
// waiting for it.
func (r *Run) readChild(fr *Reader, frames chan<- Frame) error {
	var order childFrames
	for {
		f, err := fr.Read()
		if err == nil {
			err = order.check(f)
		}
		if err != nil {
			return err
		}
		switch f.Kind {
		case KindReady:
			r.readyOnce.Do(func() { close(r.ready) })
		case KindPong:
			r.deaf.Store(false) // it read the ping: it hears again
		case KindAlive:
			r.mu.Lock()
			alive := r.spec.Alive // a held child's launch sets it
			r.mu.Unlock()
			if alive != nil {
				alive()
			}
			continue // nothing more to do with it
		}
		frames <- f
	}
}
