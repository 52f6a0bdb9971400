package supervisor

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/modes"
)

func TestStackOfFindsWrappedAndJoinedStacks(t *testing.T) {
	pe := &modes.PanicError{Value: "boom", Stack: []byte("stack")}
	assert.Equal(t, []byte("stack"), stackOf(pe))
	assert.Equal(t, []byte("stack"), stackOf(fmt.Errorf("wrapped: %w", pe)))
	assert.Equal(t, []byte("stack"), stackOf(errors.Join(errors.New("other"), fmt.Errorf("x: %w", pe))))
	assert.Nil(t, stackOf(errors.New("plain")))
	assert.Nil(t, stackOf(nil))
	stuckAt := &dumped{error: fmt.Errorf("x: %w", pe), stack: []byte("stuck")}
	assert.Equal(t, []byte("stuck"), stackOf(fmt.Errorf("y: %w", stuckAt)), "the outermost stack wins")
}

func TestStuckAddsTheRunsStack(t *testing.T) {
	boom := errors.New("boom")
	err := stuck(newFakeRun(), boom)
	assert.Equal(t, "boom", err.Error(), "the message stays")
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, fakeStack, string(stackOf(err)))
	assert.Same(t, boom, stuck(nil, boom), "no run, no stack")
}
