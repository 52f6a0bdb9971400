package loop_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind, which
// covers Run's watchdog and every Go work goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
