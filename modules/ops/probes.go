package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

// The app's phase as the probes see it.
const (
	phaseStarting int32 = iota // before every service has started
	phaseStarted               // every service has started
	phaseStopping              // the app is stopping
)

// probes answers /livez and /readyz with Kubernetes' conventions: "ok"
// with 200, or each check with [+] or [-] and 503; ?verbose lists each
// check, ?exclude=<name> skips one, and /readyz/<name> runs one.
type probes struct {
	live     *liveness.Probe
	ping     func(context.Context) error // the main event loop's answer
	settings settings
	checks   []Check
	phase    atomic.Int32
}

// namedCheck is one check as a probe runs it.
type namedCheck struct {
	name string
	run  func(context.Context) error
}

// list returns the checks of /livez, or of /readyz when ready is set:
// the supervisor's answer and the main event loop's, then the app's phase, each service and the
// program's own checks.
func (p *probes) list(ctx context.Context, ready bool) []namedCheck {
	ask, cancel := context.WithTimeout(ctx, p.settings.CheckTimeout)
	statuses, supErr := p.live.Status(ask)
	cancel()
	out := []namedCheck{
		{name: checkSupervisor, run: func(context.Context) error { return supErr }},
		{name: checkMainLoop, run: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, p.settings.CheckTimeout)
			defer cancel()
			return p.ping(ctx)
		}},
	}
	if ready {
		phase := p.phase.Load()
		out = append(out,
			namedCheck{name: checkStarted, run: func(context.Context) error {
				if phase == phaseStarting {
					return errors.New("the app is starting")
				}
				return nil
			}},
			namedCheck{name: checkShutdown, run: func(context.Context) error {
				if phase == phaseStopping {
					return errors.New("the app is stopping")
				}
				return nil
			}})
		for _, st := range statuses {
			if !p.excepted(st.Service) {
				out = append(out, namedCheck{name: servicePrefix + st.Service, run: func(context.Context) error { return serviceReady(st) }})
			}
		}
	}
	for _, c := range p.checks {
		if c.Live || ready {
			out = append(out, namedCheck{name: c.Name, run: c.Func})
		}
	}
	return out
}

// excepted reports whether ReadinessExcept names the service or, for a
// replica such as worker#2, the service it belongs to.
func (p *probes) excepted(service string) bool {
	return slices.ContainsFunc(p.settings.ReadinessExcept, func(name string) bool { return named(service, name) })
}

// named reports whether service, such as worker#2, is the service called
// name or one of its replicas.
func named(service, name string) bool {
	base, _, _ := strings.Cut(service, "#")
	return name == base || name == service
}

// checkExcepted reports a ReadinessExcept name that is no service's.
func (p *probes) checkExcepted(statuses []lifecycle.Status) error {
	for _, name := range p.settings.ReadinessExcept {
		if !slices.ContainsFunc(statuses, func(st lifecycle.Status) bool { return named(st.Service, name) }) {
			return fmt.Errorf("ops: readiness except %q: the app has no such service", name)
		}
	}
	return nil
}

// serviceReady is nil for a service that runs, or that ended cleanly and
// is not meant to run again; it says what the service does otherwise. It
// never shows the service's last error, which may hold anything.
func serviceReady(st lifecycle.Status) error {
	switch st.State {
	case lifecycle.StateRunning, lifecycle.StateExited:
		return nil
	case lifecycle.StateBackoff:
		if st.Restarts > 0 {
			return fmt.Errorf("waiting to restart; restarted %d times so far", st.Restarts)
		}
		return errors.New("waiting to restart")
	default:
		return errors.New(st.State.String())
	}
}

// run runs one check with the check timeout.
func (p *probes) run(ctx context.Context, c namedCheck) error {
	ctx, cancel := context.WithTimeout(ctx, p.settings.CheckTimeout)
	defer cancel()
	return c.run(ctx)
}

// handleAll serves /livez or /readyz.
func (p *probes) handleAll(kind string, ready bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		_, verbose := query["verbose"]
		excluded := map[string]bool{}
		for _, v := range query["exclude"] {
			for name := range strings.SplitSeq(v, ",") {
				excluded[strings.TrimSpace(name)] = true
			}
		}
		var out strings.Builder
		failed := false
		for _, c := range p.list(r.Context(), ready) {
			if excluded[c.name] {
				delete(excluded, c.name)
				fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.name)
				continue
			}
			if err := p.run(r.Context(), c); err != nil {
				failed = true
				fmt.Fprintf(&out, "[-]%s failed: %s\n", c.name, oneLine(err))
				continue
			}
			fmt.Fprintf(&out, "[+]%s ok\n", c.name)
		}
		if len(excluded) > 0 {
			names := make([]string, 0, len(excluded))
			for name := range excluded {
				names = append(names, fmt.Sprintf("%q", name))
			}
			slices.Sort(names)
			fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(names, ", "))
		}
		switch {
		case failed:
			fmt.Fprintf(&out, "%s check failed\n", kind)
			writeText(w, http.StatusServiceUnavailable, out.String())
		case verbose:
			fmt.Fprintf(&out, "%s check passed\n", kind)
			writeText(w, http.StatusOK, out.String())
		default:
			writeText(w, http.StatusOK, "ok")
		}
	}
}

// handleOne serves /livez/<name> or /readyz/<name>.
func (p *probes) handleOne(ready bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("check")
		checks := p.list(r.Context(), ready)
		i := slices.IndexFunc(checks, func(c namedCheck) bool { return c.name == name })
		if i < 0 {
			writeText(w, http.StatusNotFound, fmt.Sprintf("no check %q\n", name))
			return
		}
		if err := p.run(r.Context(), checks[i]); err != nil {
			writeText(w, http.StatusServiceUnavailable, "internal server error: "+oneLine(err)+"\n")
			return
		}
		writeText(w, http.StatusOK, "ok")
	}
}

// oneLine keeps a reason on its line of the probe's output.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
