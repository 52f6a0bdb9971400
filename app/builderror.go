package app

import (
	"fmt"
	"strings"

	"go.uber.org/dig"

	"github.com/hostfx/hostfx/modes"
)

// BuildError is a service that could not be built: its constructor failed
// or lacks a dependency. Err is fx's error, whose root cause Error shows.
type BuildError struct {
	Service     string
	Mode        modes.ExecutionMode
	At          string // file:line of the app.Service call
	Constructor string // the constructor and its file:line
	Err         error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("service %q (%v) at %s: constructor %s: %v", e.Service, e.Mode, e.At, e.Constructor, dig.RootCause(e.Err))
}

func (e *BuildError) Unwrap() error { return e.Err }

// buildFailure names the service whose construction err is about, when it
// is one: fx names the value it failed to build, and each service's
// adoption has a name of its own.
func buildFailure(err error, services []*spec) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	for _, s := range services {
		if strings.Contains(text, fmt.Sprintf(`[name="hostfx/%s"]`, s.name)) {
			return &BuildError{Service: s.name, Mode: s.mode, At: s.at, Constructor: s.ctorDoc, Err: err}
		}
	}
	return err
}
