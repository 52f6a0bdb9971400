package supervisor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWindowLetsTheOldestGo(t *testing.T) {
	var w window
	base := time.Unix(1000, 0)
	for i := range 10 {
		w.add(base.Add(time.Duration(i) * time.Second))
	}
	w.dropUntil(base.Add(3 * time.Second))
	assert.Equal(t, 6, w.len(), "times at or before the cutoff go")
	w.dropUntil(base.Add(3 * time.Second))
	assert.Equal(t, 6, w.len(), "dropping again changes nothing")
	w.dropUntil(base.Add(7 * time.Second)) // most gone: compacts
	assert.Equal(t, 2, w.len())
	assert.Equal(t, 0, w.head)
	w.add(base.Add(20 * time.Second))
	w.dropUntil(base.Add(8 * time.Second))
	assert.Equal(t, 2, w.len())
	w.reset()
	assert.Equal(t, 0, w.len())
}
