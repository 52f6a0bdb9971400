package proc

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// fakeChildEnv makes this test binary act as a misbehaving child.
const fakeChildEnv = "PROC_FAKE_CHILD"

func TestMain(m *testing.M) {
	how := os.Getenv(fakeChildEnv)
	if how == "" {
		goleak.VerifyTestMain(m)
		return
	}
	control := os.NewFile(controlFD, "control")
	switch how {
	case "wrong-first":
		_ = Write(control, Frame{Kind: KindReady})
	case "wrong-version":
		_ = Write(control, Frame{Kind: KindHello, Version: Version + 1, PID: uint32(os.Getpid())})
	case "stray-frame":
		_ = Write(control, Frame{Kind: KindHello, Version: Version, PID: uint32(os.Getpid())})
		_ = Write(control, Frame{Kind: KindStop})
	}
	select {} // the parent must kill it
}
