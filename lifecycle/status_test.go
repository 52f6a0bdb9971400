package lifecycle_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/lifecycle"
)

func TestStateReadsAsPlainEnglish(t *testing.T) {
	tests := []struct {
		give lifecycle.State
		want string
	}{
		{lifecycle.StateIdle, "idle"},
		{lifecycle.StateStarting, "starting"},
		{lifecycle.StateRunning, "running"},
		{lifecycle.StateBackoff, "waiting to restart"},
		{lifecycle.StateStopping, "stopping"},
		{lifecycle.StateStopped, "stopped"},
		{lifecycle.StateExited, "exited"},
		{lifecycle.StateFailed, "failed"},
		{lifecycle.State(42), "unknown"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
	// The supervisor's refusal to start a service that waits out its
	// backoff is built this way.
	assert.Equal(t, `service "db": start while waiting to restart`,
		fmt.Sprintf("service %q: start while %v", "db", lifecycle.StateBackoff))
}
