package app

import (
	"fmt"
	"reflect"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// A registration travels one way: the program's declarations (decl) are
// read from the options before fx builds anything, together with the
// configuration; each becomes a service of this app (spec), with the mode
// the configuration gives it; the specs become the graph (graph.go): for
// each, its constructor and what the rest of the graph may take from it.
// The host adopts each service as fx constructs it.

// spec is a service of one app: its declaration with what this app decided.
// A registration with replicas is a spec for each.
type spec struct {
	*decl                     // with the mode the configuration gives, if it gives one
	name    string            // the service's name: the registration's, or with replicas worker#2
	replica int               // 1 to n with replicas, 0 without
	sources map[string]string // where settings came from, when not code
	plain   bool              // the only service of its type: reachable by type
	config  ServiceConfig     // the app's configuration; nil without one
	group   []*spec           // a registration's replicas, in the spec byDecl gives for it
}

// EveryProcess marks options that a process-mode service's child keeps.
// A child builds only its service and what that needs, and leaves out the
// program's fx.Invoke calls, which set up the app itself (a server, a
// signal, a registration with a service manager); an invoke wrapped here
// runs in every child too, such as one that sets up tracing.
func EveryProcess(opts ...fx.Option) fx.Option { return everyProcess{fx.Options(opts...)} }

type everyProcess struct{ fx.Option }

// plan reads the program's options: the registrations and the
// configuration. It returns the options fx should build, with every
// registration replaced by its part of the graph, and the app's services.
func plan(opts []fx.Option) ([]fx.Option, services, error) {
	if treeShapeErr != nil {
		return nil, services{}, fmt.Errorf("app: this version of fx is not one hostfx can read: %w", treeShapeErr)
	}
	var decls []*decl
	var config ServiceConfig
	var collect rewriter
	collect = func(o fx.Option) (fx.Option, bool) {
		switch o := o.(type) {
		case *registration:
			decls = append(decls, o.d)
		case ServiceConfig:
			config = o
		case everyProcess:
			rewrite(o.Option, collect)
		}
		return nil, false
	}
	for _, o := range opts {
		rewrite(o, collect)
	}
	specs, byDecl := decide(decls, config)
	child := proc.Current()
	// keep rewrites what EveryProcess holds: its registrations, but not
	// its invokes, which it keeps in a child too.
	var keep, place rewriter
	keep = func(o fx.Option) (fx.Option, bool) {
		switch o := o.(type) {
		case *registration:
			return byDecl[o.d].graphs(child), true
		case everyProcess:
			n, _ := rewrite(o.Option, keep)
			return n, true
		}
		return nil, false
	}
	place = func(o fx.Option) (fx.Option, bool) {
		if n, ok := keep(o); ok {
			return n, true
		}
		if child != nil && isInvoke(o) {
			return nil, true
		}
		return nil, false
	}
	out := make([]fx.Option, 0, len(opts))
	for _, o := range opts {
		if n, _ := rewrite(o, place); n != nil {
			out = append(out, n)
		}
	}
	return join(out), services{list: specs, configRead: config != nil}, nil
}

// decide gives each registration its mode from the configuration, and
// finds the types that only one service has.
func decide(decls []*decl, config ServiceConfig) ([]*spec, map[*decl]*spec) {
	specs := make([]*spec, 0, len(decls))
	byDecl := make(map[*decl]*spec, len(decls))
	types := map[reflect.Type]int{}
	names := map[string]*decl{}
	for _, d := range decls {
		s := &spec{decl: d, name: d.name, config: config}
		if first, taken := names[d.name]; taken && d.err == nil {
			s.reject("the name is already taken by the service registered at %s; service names must be unique", first.at)
		} else if !taken {
			names[d.name] = d
		}
		replicas := 1
		if s.err == nil {
			var opts []lifecycle.Option
			if config != nil {
				var mode modes.ExecutionMode
				mode, opts, s.sources = config.ServiceOptions(d.name)
				if mode.Valid() && mode != d.mode {
					s.retarget(mode)
				}
			}
			settings := lifecycle.DefaultSettings().With(d.opts...).With(opts...)
			if err := settings.Validate(); err != nil {
				s.reject("%v", err)
			} else {
				replicas = settings.Replicas
			}
		}
		byDecl[d] = s
		if replicas <= 1 {
			specs = append(specs, s)
			continue
		}
		s.group = make([]*spec, replicas)
		for i := range replicas {
			r := *s
			r.name, r.replica, r.group = fmt.Sprintf("%s#%d", d.name, i+1), i+1, nil
			s.group[i] = &r
			specs = append(specs, &r)
		}
	}
	for _, s := range specs {
		if s.err == nil {
			types[s.typ]++
		}
	}
	for _, s := range specs {
		s.plain = s.err == nil && types[s.typ] == 1
	}
	return specs, byDecl
}

// retarget moves the service to the mode the configuration sets, which
// may call another entry point. The registration is the program's, shared
// by every app built from it: the spec gets a copy.
func (s *spec) retarget(mode modes.ExecutionMode) {
	d := *s.decl
	d.mode = mode
	var err error
	if d.typ, d.tag, err = serviceResult(d.built, entryPoint(mode)); err != nil {
		d.err = d.errorf("the configuration (%s) sets mode %v, but constructor %s %v; want one result with %s",
			s.sources["mode"], mode, d.ctorDoc, err, entryName(mode))
	}
	s.decl = &d
}

// reject marks the service invalid, in a copy of its registration.
func (s *spec) reject(format string, args ...any) {
	d := *s.decl
	d.err = d.errorf(format, args...)
	s.decl = &d
}

// services are the app's services, all of them, for the host to report
// the invalid ones at once and to know every name the configuration may
// set.
type services struct {
	list       []*spec
	configRead bool // plan found the configuration among the options
}
