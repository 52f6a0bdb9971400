package ops

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/fx"
)

// checksGroup is the fx value group AsCheck adds to.
const checksGroup = "hostfx.ops.checks"

// Check is a health check of the program's own, such as "the database
// answers". Provide it with AsCheck. It joins /readyz, and /livez too
// when Live is set.
type Check struct {
	// Name identifies the check in the probes' output and in ?exclude=
	// and /readyz/<name>: letters, digits and "._-/".
	Name string
	// Func reports a failure with an error, whose text the probes show,
	// so it must not hold a secret. ctx ends when the probe gives up.
	Func func(ctx context.Context) error
	// Live makes it a liveness check as well. A failing liveness check
	// gets the process restarted (a kubelet does so), so set Live only for
	// a state that restarting the process would cure, never for a
	// dependency that may be down for a while.
	Live bool
}

// AsCheck annotates a constructor of a Check for fx.Provide, so the ops
// module runs it:
//
//	fx.Provide(ops.AsCheck(func(db *DB) ops.Check {
//		return ops.Check{Name: "db", Func: db.Ping}
//	}))
//
// The constructor runs in the app's own process, so it may take what the
// app builds there, such as an *app.Client to ask a service in a child.
func AsCheck(constructor any) any {
	return fx.Annotate(constructor, fx.ResultTags(`group:"`+checksGroup+`"`))
}

// Names of the built-in checks.
const (
	checkSupervisor = "supervisor"
	checkMainLoop   = "main-loop"
	checkStarted    = "started"
	checkShutdown   = "shutdown"
	servicePrefix   = "service/"
)

// validateChecks rejects checks the probes cannot list.
func validateChecks(checks []Check) error {
	seen := map[string]bool{checkSupervisor: true, checkStarted: true, checkShutdown: true}
	for _, c := range checks {
		switch {
		case c.Func == nil:
			return fmt.Errorf("ops: check %q has no Func", c.Name)
		case !validCheckName(c.Name):
			return fmt.Errorf("ops: check %q: want a name of letters, digits and \"._-/\"", c.Name)
		case strings.HasPrefix(c.Name, servicePrefix):
			return fmt.Errorf("ops: check %q: names starting with %q are the services' own", c.Name, servicePrefix)
		case seen[c.Name]:
			return fmt.Errorf("ops: check %q is provided twice, or has the name of a built-in check", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

func validCheckName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return false
	}
	return strings.IndexFunc(name, func(r rune) bool { return !allowedInName(r) }) < 0
}

func allowedInName(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)
}
