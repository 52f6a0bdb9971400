package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// ServiceSettings are the settings of one service from the
// services.<name> section. A field that no source sets is zero; Sources
// tells which were set.
type ServiceSettings struct {
	// Name is the service's name, in lower case as all keys are.
	Name string `config:"-"`
	// Mode is where the service runs, such as SEPARATE_THREAD.
	Mode modes.ExecutionMode `config:"mode"`
	// StartTimeout bounds how long the service may take to start.
	StartTimeout time.Duration `config:"start_timeout" validate:"gte=0"`
	// StopTimeout bounds how long the service may take to stop.
	StopTimeout time.Duration `config:"stop_timeout" validate:"gte=0"`
	// Restart is the restart strategy, named as EXPONENTIAL_BACKOFF, with
	// its default parameters.
	Restart lifecycle.Strategy `config:"restart"`
	// Policy says which ends lead to a restart, such as ON_FAILURE.
	Policy lifecycle.Policy `config:"policy"`
	// Intensity bounds restarts before the supervisor gives up.
	Intensity Intensity `config:"intensity"`
	// Replicas is how many instances of the service run.
	Replicas int `config:"replicas" validate:"gte=0"`
	// Watchdog is the longest the running service may go without a sign
	// of life before it counts as hung; 0 turns the watchdog off.
	Watchdog time.Duration `config:"watchdog" validate:"gte=0"`
	// ReplaceOnHangup has App.Run replace the service, a process-mode one,
	// without a gap when the app gets SIGHUP.
	ReplaceOnHangup bool `config:"replace_on_hangup"`
	// WarmSpare keeps a spare child of the service, a process-mode one,
	// for its next restart or replacement (lifecycle.WarmSpare).
	WarmSpare bool `config:"warm_spare"`
	// Limits bound what the service's child process may use; only the
	// process modes take them.
	Limits Limits `config:"limits"`
	// Sources maps each key that was set, relative to the section (such
	// as "mode" or "intensity.window"), to where its value came from.
	Sources map[string]string `config:"-"`
}

// Intensity bounds how often a service may restart: more than
// MaxRestarts within Window and the supervisor gives up.
type Intensity struct {
	// MaxRestarts is how many restarts Window allows.
	MaxRestarts int `config:"max_restarts" validate:"gte=0"`
	// Window is the span restarts are counted over.
	Window time.Duration `config:"window" validate:"gte=0"`
}

// Limits are the resource limits of a process-mode service's child, from
// services.<name>.limits; see lifecycle.ResourceLimits. A key set to more
// than 0 replaces that limit of what the code set.
type Limits struct {
	// Memory is the most memory the child may use, such as 256MiB.
	Memory Size `config:"memory" validate:"gte=0"`
	// Files is the most files the child may have open at once.
	Files int `config:"files" validate:"gte=0"`
	// CPUTime is the most CPU time the child may use, in whole seconds.
	CPUTime time.Duration `config:"cpu_time" validate:"gte=0"`
	// Processes is the most processes and threads the child may have.
	Processes int `config:"processes" validate:"gte=0"`
}

// Service returns the settings of the named service, and whether the
// configuration has a section for it. Names match case-insensitively, as
// all keys do.
func (c *Config) Service(name string) (ServiceSettings, bool) {
	s, ok := c.services[strings.ToLower(name)]
	if ok {
		s.Sources = maps.Clone(s.Sources)
	}
	return s, ok
}

// Services returns the names of the services the configuration has a
// section for, sorted.
func (c *Config) Services() []string {
	return slices.Sorted(maps.Keys(c.services))
}

// parseServices binds every services.<name> section, so a bad mode or
// duration is reported by New rather than when the service registers.
func (c *Config) parseServices(ps *problems) map[string]ServiceSettings {
	out := map[string]ServiceSettings{}
	raw := c.raw(servicesKey)
	if raw == nil {
		return out
	}
	sections, ok := raw.(map[string]any)
	if !ok {
		ps.add(&Problem{Key: servicesKey, Value: render(raw, false), Source: c.sourceOf(servicesKey), Reason: "want a section with one section per service"})
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(sections)) {
		key := servicesKey + "." + name
		var s ServiceSettings
		b := newBinder(c)
		b.bind(key, withoutOwnKeys(sections[name]), reflect.ValueOf(&s).Elem())
		*ps = append(*ps, b.problems...)
		s.Name = name
		s.Sources = map[string]string{}
		for k, src := range c.sources {
			if rel, ok := strings.CutPrefix(k, key+"."); ok {
				s.Sources[rel] = src
			}
		}
		out[name] = s
	}
	return out
}

// serviceOwnKey is the part of a services.<name> section that belongs to
// the service itself, which its constructor decodes with
// app.Identity.Config; the rest of the section is hostfx's.
const serviceOwnKey = "config"

// withoutOwnKeys returns a service's section without the service's own
// part, for binding the settings hostfx reads.
func withoutOwnKeys(section any) any {
	m, ok := section.(map[string]any)
	if !ok {
		return section
	}
	if _, has := m[serviceOwnKey]; !has {
		return section
	}
	out := maps.Clone(m)
	delete(out, serviceOwnKey)
	return out
}

// BindService decodes the named service's own keys, the section
// services.<name>.config, into target, a pointer to a struct, as Bind
// does: defaults, validation, and every problem at once. It makes *Config
// an app.ServiceConfig; a service's constructor reaches it through
// app.Identity.Config.
func (c *Config) BindService(name string, target any) error {
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: service %q: decode its section into %T: want a pointer to a struct", name, target)
	}
	return c.bind(servicesKey+"."+name+"."+serviceOwnKey, v.Elem())
}

// ServiceOptions returns the lifecycle options the services.<name> section
// sets, which override what code registered, and where each setting came
// from, keyed by its name in the section. It makes *Config an
// app.ServiceConfig.
func (c *Config) ServiceOptions(name string) (modes.ExecutionMode, []lifecycle.Option, map[string]string) {
	s, ok := c.Service(name)
	if !ok {
		return 0, nil, nil
	}
	var opts []lifecycle.Option
	set := func(key string) bool { _, ok := s.Sources[key]; return ok }
	if set("start_timeout") {
		opts = append(opts, lifecycle.StartTimeout(s.StartTimeout))
	}
	if set("stop_timeout") {
		opts = append(opts, lifecycle.StopTimeout(s.StopTimeout))
	}
	if set("restart") {
		opts = append(opts, lifecycle.Restart(s.Restart))
	}
	if set("policy") {
		opts = append(opts, lifecycle.RestartPolicy(s.Policy))
	}
	if set("replicas") {
		opts = append(opts, lifecycle.Replicas(s.Replicas))
	}
	if set("watchdog") {
		opts = append(opts, lifecycle.Watchdog(s.Watchdog))
	}
	if set("replace_on_hangup") && s.ReplaceOnHangup {
		opts = append(opts, lifecycle.ReplaceOnHangup())
	}
	if set("warm_spare") && s.WarmSpare {
		opts = append(opts, lifecycle.WarmSpare())
	}
	if l := s.Limits; l != (Limits{}) {
		opts = append(opts, lifecycle.Limits(lifecycle.ResourceLimits{
			Memory: int64(l.Memory), Files: l.Files, CPUTime: l.CPUTime, Processes: l.Processes,
		}))
	}
	if set("intensity.max_restarts") || set("intensity.window") {
		maxRestarts, window := s.Intensity.MaxRestarts, s.Intensity.Window
		def := lifecycle.DefaultSettings()
		if !set("intensity.max_restarts") {
			maxRestarts = def.MaxRestarts
		}
		if !set("intensity.window") {
			window = def.Window
		}
		opts = append(opts, lifecycle.Intensity(maxRestarts, window))
	}
	return s.Mode, opts, s.Sources
}
