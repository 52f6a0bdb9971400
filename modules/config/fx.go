package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.uber.org/fx"
	"go.uber.org/zap/zapcore"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// bindingsGroup collects every Provide, so the configuration is checked
// as a whole before anything uses it.
const bindingsGroup = "hostfx.config.bindings"

// binding is one Provide call.
type binding struct {
	path  string
	check func(*Config) error
}

// Module loads the configuration with New and provides the *Config to the
// fx graph. When the app is built it binds every Provide and reports all
// their problems at once, with keys that nothing binds; then, if the
// command line asked for it (PrintConfigFlag), it prints the
// configuration and exits.
//
// It loads the configuration when called, so that app.New and app.Module
// can read each services.<name> section before they build the graph, and
// a section can move a service into or out of a child process.
func Module(opts ...Option) fx.Option {
	c, err := New(opts...)
	return newSource(c, fx.Provide(func() (*Config, error) { return c, err }))
}

// source is the option of Module and Supply: fx options that the app reads
// as its ServiceConfig before it builds the graph.
type source struct {
	fx.Option
	cfg *Config // nil when loading failed: the graph reports why
}

// newSource builds the options of Module and Supply around the one that
// provides the *Config. The app's ServiceConfig is the source itself, which
// cannot fail to build even when loading did: the app's logger depends on
// it, for the log level, and must be there to report why.
func newSource(c *Config, provide fx.Option) source {
	s := source{cfg: c}
	s.Option = fx.Module("config",
		provide,
		fx.Provide(func() app.ServiceConfig { return s }),
		fx.Invoke(check),
	)
	return s
}

// ServiceOptions makes source an app.ServiceConfig; see Config.ServiceOptions.
func (s source) ServiceOptions(name string) (modes.ExecutionMode, []lifecycle.Option, map[string]string) {
	if s.cfg == nil {
		return 0, nil, nil
	}
	return s.cfg.ServiceOptions(name)
}

// BindService makes source an app.ServiceConfig; see Config.BindService.
func (s source) BindService(name string, target any) error {
	if s.cfg == nil {
		return fmt.Errorf("config: service %q: the configuration did not load", name)
	}
	return s.cfg.BindService(name, target)
}

// Services makes source an app.ServiceConfig; see Config.Services.
func (s source) Services() []string {
	if s.cfg == nil {
		return nil
	}
	return s.cfg.Services()
}

// LogLevel hands log.level to the app's logger; see Config.LogLevel.
func (s source) LogLevel() (zapcore.Level, string, bool) {
	if s.cfg == nil {
		return 0, "", false
	}
	return s.cfg.LogLevel()
}

// Supply provides a configuration already loaded with New, with the same
// checks as Module. Use it when main reads the configuration before
// building the app, such as to pick services' modes.
func Supply(c *Config) fx.Option {
	return newSource(c, fx.Supply(c))
}

// Provide binds the section at path ("" for the root) to T, as Bind does,
// and provides both T and *T. It needs Module or Supply in the app.
func Provide[T any](path string) fx.Option {
	b := &binding{
		path: strings.ToLower(path),
		check: func(c *Config) error {
			_, err := Bind[T](c, path)
			return err
		},
	}
	return fx.Options(
		fx.Provide(func(c *Config) (T, error) { return Bind[T](c, path) }),
		fx.Provide(func(v T) *T { return &v }),
		fx.Provide(fx.Annotated{Group: bindingsGroup, Target: func() *binding { return b }}),
	)
}

type checkParams struct {
	fx.In

	Config   *Config
	Bindings []*binding `group:"hostfx.config.bindings"`
}

// check binds everything Provide asked for and looks for keys nothing
// binds, reporting it all in one *Error.
func check(p checkParams) error {
	c := p.Config
	slices.SortStableFunc(p.Bindings, func(a, b *binding) int { return strings.Compare(a.path, b.path) })
	var ps problems
	paths := make([]string, 0, len(p.Bindings))
	for _, b := range p.Bindings {
		paths = append(paths, b.path)
		var e *Error
		if err := b.check(c); errors.As(err, &e) {
			ps = append(ps, e.Problems...)
		} else if err != nil {
			ps.add(&Problem{Key: b.path, Reason: err.Error(), Err: err})
		}
	}
	if c.strict {
		ps = append(ps, c.unbound(paths)...)
	}
	if len(ps) == 0 {
		return c.HandlePrintFlag()
	}
	if c.PrintRequested() {
		if err := c.Print(os.Stdout); err != nil {
			return err
		}
	}
	return ps.err()
}

// unbound reports the keys under no bound path: one problem for each
// section or key at the top of what nothing binds.
func (c *Config) unbound(bound []string) []*Problem {
	known := append(slices.Clone(bound), frameworkKeys...)
	for _, s := range c.declared() {
		known = append(known, s.path)
	}
	if slices.Contains(known, "") {
		return nil
	}
	var out []*Problem
	reported := map[string]bool{}
	for _, key := range c.Keys() {
		if slices.ContainsFunc(known, func(p string) bool { return key == p || strings.HasPrefix(key, p+".") }) {
			continue
		}
		// Walk down while the key is still on the way to a bound path.
		sections := strings.Split(key, ".")
		top := sections[0]
		for i := 1; i < len(sections) && slices.ContainsFunc(known, func(p string) bool { return strings.HasPrefix(p, top+".") }); i++ {
			top += "." + sections[i]
		}
		if reported[top] {
			continue
		}
		reported[top] = true
		out = append(out, &Problem{
			Key:    top,
			Value:  render(c.raw(top), c.secret(top)),
			Source: c.sourceOf(top),
			Reason: unboundReason(top, known),
			Err:    ErrUnknownKey,
		})
	}
	return out
}

// unboundReason suggests the bound path that top is most likely a typo
// of: one beside it, under the same parent.
func unboundReason(top string, known []string) string {
	parent, name := "", top
	if i := strings.LastIndexByte(top, '.'); i >= 0 {
		parent, name = top[:i], top[i+1:]
	}
	var siblings []string
	for _, p := range known {
		rest, ok := strings.CutPrefix(p, parent+".")
		if parent == "" {
			rest, ok = p, true
		}
		if ok {
			sibling, _, _ := strings.Cut(rest, ".")
			siblings = append(siblings, sibling)
		}
	}
	if s, ok := closest(name, siblings); ok {
		return fmt.Sprintf("unknown key: nothing binds it; did you mean %q?", join(parent, s))
	}
	return "unknown key: nothing binds it; bind it with config.Provide, or pass config.AllowUnknownKeys()"
}
