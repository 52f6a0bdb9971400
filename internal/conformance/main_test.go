package conformance_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/hostfx/hostfx/app"
)

// stateEnv names the directory where rows keep what must outlive one
// process, such as how many times a service has run: a process-mode
// service runs each time in a new child, which inherits the variable.
const stateEnv = "HOSTFX_CONFORMANCE_STATE"

// TestMain checks for leaked goroutines. A process-mode row's child is this
// binary re-run by app.Test with -test.run naming only that row; it never
// gets to the check, since it exits once its parent stops it.
func TestMain(m *testing.M) {
	if _, child := app.InChild(); child {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "hostfx-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := os.Setenv(stateEnv, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
		os.Exit(code)
	}))
}
