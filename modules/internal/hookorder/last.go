package hookorder

import (
	"fmt"
	"strings"

	"github.com/hostfx/hostfx/lifecycle"
)

// Last remembers the services whose hooks were appended before a module's
// own hook.
type Last struct {
	module string
	status func() []lifecycle.Status
	before map[string]bool
}

// Mark is called when the module appends its hook. status lists the
// services whose hooks are appended, in order, such as
// (*app.Supervisor).Status.
func Mark(module string, status func() []lifecycle.Status) *Last {
	before := map[string]bool{}
	for _, st := range status() {
		before[st.Service] = true
	}
	return &Last{module: module, status: status, before: before}
}

// Check is called from the module's OnStart, when every hook is appended.
// It names the services whose hooks came after the module's: they would
// start after the module says the app is ready, and stop before it says
// the app is stopping.
func (l *Last) Check() error {
	var after []string
	for _, st := range l.status() {
		if !l.before[st.Service] {
			after = append(after, fmt.Sprintf("%q", st.Service))
		}
	}
	if len(after) == 0 {
		return nil
	}
	what := "service " + after[0] + " is"
	if len(after) > 1 {
		what = "services " + strings.Join(after, ", ") + " are"
	}
	return fmt.Errorf("%s: %s built after it, so they would start after the app says it is ready "+
		"and stop before the app says it is stopping: pass %s after every app.Service, at the top level "+
		"of app.New or app.Module, not inside an fx.Module", l.module, what, l.module)
}
