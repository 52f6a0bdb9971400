package proc

import (
	"errors"
	"fmt"

	"github.com/hostfx/hostfx/modes"
)

// PanicReport returns the Panic frame of the panic behind err, and false
// when there is none. A child sends it before the frame that reports the
// failure, so the parent's error carries the panic and its stack however
// the child logs, or whether it logs at all.
func PanicReport(err error) (Frame, bool) {
	var pe *modes.PanicError
	if !errors.As(err, &pe) {
		return Frame{}, false
	}
	return Frame{Kind: KindPanic, Text: fmt.Sprint(pe.Value), Func: pe.Func, Stack: string(pe.Stack)}, true
}

// panicError is the panic a Panic frame reports, its value as text.
func panicError(f Frame) *modes.PanicError {
	return &modes.PanicError{Value: f.Text, Func: f.Func, Stack: []byte(f.Stack)}
}
