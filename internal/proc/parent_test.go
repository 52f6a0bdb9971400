package proc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/executor"
)

func TestKillBeforeReady(t *testing.T) {
	e := Executor{Log: zap.NewNop(), Args: []string{"-test.run=^$"}, App: "proc.test", fake: []string{fakeChildEnv + "=silent"}}
	r := e.Launch(testSpec())
	r.(*Run).Kill("did not start: start timed out")
	var ee *ExitError
	require.ErrorAs(t, r.Wait(), &ee)
	assert.Equal(t, "did not start: start timed out", ee.Reason)
}

func testSpec() executor.Spec { return executor.Spec{Name: "fake", StopTimeout: time.Second} }
