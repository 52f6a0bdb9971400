package conformance_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines. A process-mode row's child is this
// binary re-run by app.Test with -test.run naming only that row; it never
// gets here, since it exits once its parent stops it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
