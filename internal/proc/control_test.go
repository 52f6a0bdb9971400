package proc

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestParentKillsAChildThatSpeaksWrongly(t *testing.T) {
	tests := []struct {
		how  string
		want string
	}{
		{"wrong-first", "protocol error: first frame is ready, want hello"},
		{"wrong-version", "protocol error: child speaks version 2, want 1"},
		{"stray-frame", "protocol error: unexpected stop from the child"},
	}
	for _, tt := range tests {
		t.Run(tt.how, func(t *testing.T) {
			e := Executor{Log: zap.NewNop(), Args: []string{"-test.run=^$"}, App: "proc.test", fake: []string{fakeChildEnv + "=" + tt.how}}
			r := e.Launch(testSpec())
			err := r.Wait()
			var ee *ExitError
			require.True(t, errors.As(err, &ee), "%v", err)
			assert.Equal(t, "signal: killed", ee.Status())
			assert.Equal(t, tt.want, ee.Reason)
			select {
			case <-r.Ready():
				t.Fatal("a child that spoke wrongly became ready")
			default:
			}
		})
	}
}

func TestTruncatedFrameIsAProtocolError(t *testing.T) {
	tests := []struct {
		how  string
		want string
	}{
		{"truncated-exit", "protocol error: truncated frame: the stream ended after 2 of 9 bytes"},
		{"truncated-head", "protocol error: truncated frame: the stream ended after 2 of 4 bytes of its length"},
		{"truncated-close", "protocol error: truncated frame: the stream ended after 2 of 9 bytes"},
		// No end of stream: the rest of a frame that has begun must come
		// within a heartbeat, not three, so it is not taken for a hang.
		{"truncated-stall", "protocol error: truncated frame: 2 of 65536 bytes, and no more within 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.how, func(t *testing.T) {
			r := fakeExecutor(tt.how).Launch(testSpec())
			err := r.Wait()
			var ee *ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, tt.want, ee.Reason)
			assert.NotContains(t, err.Error(), "hung")
		})
	}
}
