package ops

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/lifecycle"
)

func TestServiceReady(t *testing.T) {
	tests := []struct {
		give lifecycle.Status
		want string // "" for ready
	}{
		{give: lifecycle.Status{State: lifecycle.StateRunning}},
		{give: lifecycle.Status{State: lifecycle.StateExited}},
		{give: lifecycle.Status{State: lifecycle.StateIdle}, want: "idle"},
		{give: lifecycle.Status{State: lifecycle.StateStarting}, want: "starting"},
		{give: lifecycle.Status{State: lifecycle.StateBackoff}, want: "waiting to restart"},
		{give: lifecycle.Status{State: lifecycle.StateBackoff, Restarts: 2}, want: "waiting to restart; restarted 2 times so far"},
		{give: lifecycle.Status{State: lifecycle.StateStopping}, want: "stopping"},
		{give: lifecycle.Status{State: lifecycle.StateStopped}, want: "stopped"},
		{give: lifecycle.Status{State: lifecycle.StateFailed, LastError: errors.New("token=s3cret")}, want: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.give.State.String(), func(t *testing.T) {
			err := serviceReady(tt.give)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.want)
		})
	}
}
