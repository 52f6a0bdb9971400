package chans

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosed(t *testing.T) {
	open := make(chan struct{})
	assert.False(t, Closed(open))
	assert.False(t, Closed(nil), "a nil channel never closes")
	close(open)
	assert.True(t, Closed(open))
	assert.True(t, Closed(Done))
}
