package app_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv names the scenario a re-executed test binary runs instead of
// the tests, so the scenario owns main (and the main thread).
const helperEnv = "HOSTFX_APP_TEST_HELPER"

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	goleak.VerifyTestMain(m)
}
