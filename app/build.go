package app

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.uber.org/dig"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// A registration travels one way: the program's declarations (decl) are
// read from the options before fx builds anything, together with the
// configuration; each becomes a service of this app (spec), with the mode
// the configuration gives it; the specs become the graph: for each, its
// constructor in a module of its own, and what the rest of the graph may
// take from it. The host adopts each service as fx constructs it.

// spec is a service of one app: its declaration with what this app decided.
// A registration with replicas is a spec for each.
type spec struct {
	*decl
	name    string              // the service's name: the registration's, or with replicas worker#2
	replica int                 // 1 to n with replicas, 0 without
	mode    modes.ExecutionMode // the configuration's, or the registration's
	sources map[string]string   // where settings came from, when not code
	plain   bool                // the only service of its type: reachable by type
	group   []*spec             // a registration's replicas, in the spec byDecl gives for it
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
	return out, services{list: specs, configRead: config != nil}, nil
}

// decide gives each registration its mode from the configuration, and
// finds the types that only one service has.
func decide(decls []*decl, config ServiceConfig) ([]*spec, map[*decl]*spec) {
	specs := make([]*spec, 0, len(decls))
	byDecl := make(map[*decl]*spec, len(decls))
	types := map[reflect.Type]int{}
	names := map[string]*decl{}
	for _, d := range decls {
		s := &spec{decl: d, name: d.name, mode: d.mode}
		if first, taken := names[d.name]; taken && d.err == nil {
			cp := *d
			cp.err = d.errorf("the name is already taken by the service registered at %s; service names must be unique", first.at)
			s.decl = &cp
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
				cp := *s.decl
				cp.err = cp.errorf("%v", err)
				s.decl = &cp
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
// may call another entry point.
func (s *spec) retarget(mode modes.ExecutionMode) {
	d := *s.decl
	fn, _ := builtConstructor(d.ctor)
	typ, tag, err := serviceResult(fn.Type(), entryPoint(mode))
	if err != nil {
		d.err = d.errorf("the configuration (%s) sets mode %v, but constructor %s %v; want one result with %s",
			s.sources["mode"], mode, d.ctorDoc, err, entryName(mode))
	}
	d.typ, d.tag, d.mode = typ, tag, mode
	s.decl, s.mode = &d, mode
}

// graphs is the registration's part of the graph in this process: each
// replica's, and the Client that reaches them all.
func (s *spec) graphs(child *proc.Child) fx.Option {
	instances := s.group
	if len(instances) == 0 {
		instances = []*spec{s}
	}
	opts := make([]fx.Option, 0, len(instances)+1)
	for _, r := range instances {
		if g := r.graph(child); g != nil {
			opts = append(opts, g)
		}
	}
	switch {
	case s.err != nil:
	case child != nil && s.mode.Process():
		// A sibling's service, in a child: its Client builds, and its calls
		// say that a child cannot reach its siblings.
		opts = append(opts, fx.Provide(s.client(nil)))
	case len(opts) == len(instances):
		// Every instance is built here.
		opts = append(opts, fx.Provide(s.client(instances)))
	}
	return fx.Options(opts...)
}

// graph is the service's part of the graph in this process.
func (s *spec) graph(child *proc.Child) fx.Option {
	adopt := fx.Invoke(s.construct())
	switch {
	case s.err != nil:
		// The host reports every bad registration at once when it is built.
		return nil
	case s.mode.Process() && child == nil:
		// It runs in a child process: this one never builds it.
		register := func(h *host, lc fx.Lifecycle) (*adopted, error) { return new(adopted), h.registerProcess(s, lc) }
		return fx.Options(s.elsewhere(), fx.Provide(fx.Annotate(register, fx.ResultTags(s.adoptedTag()))), adopt)
	case child != nil && s.mode.Process() && child.Service != s.name:
		// Another child's service.
		return nil
	case child != nil && child.Service != s.name:
		// A child builds only its service and what that depends on.
		return s.here()
	}
	return fx.Options(s.here(), adopt)
}

// client provides the registration's Client under its name, once every
// instance is adopted: a constructor that takes it comes after them all.
func (s *spec) client(instances []*spec) any {
	in := []reflect.StructField{{Name: "Host", Type: reflect.TypeFor[*host]()}}
	for i, r := range instances {
		in = append(in, reflect.StructField{Name: fmt.Sprintf("Adopted%d", i), Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(r.adoptedTag())})
	}
	out := []reflect.StructField{{Name: "Client", Type: reflect.TypeFor[*Client](), Tag: reflect.StructTag(fmt.Sprintf(`name:%q`, s.decl.name))}}
	return makeFunc(in, out, func(v reflect.Value) ([]reflect.Value, error) {
		h := v.FieldByName("Host").Interface().(*host)
		return []reflect.Value{reflect.ValueOf(&Client{host: h, name: s.decl.name})}, nil
	})
}

// declared lists the service with the host.

// construct is the invoke that makes fx build the service, at the place
// of its registration among the program's invokes.
func (s *spec) construct() any {
	in := reflect.StructField{Name: "Adopted", Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(s.adoptedTag())}
	inT := reflect.StructOf([]reflect.StructField{{Name: "In", Type: fxInType, Anonymous: true}, in})
	return reflect.MakeFunc(reflect.FuncOf([]reflect.Type{inT}, nil, false),
		func([]reflect.Value) []reflect.Value { return nil }).Interface()
}

// services are the app's services, all of them, for the host to report
// the invalid ones at once and to know every name the configuration may
// set.
type services struct {
	list       []*spec
	configRead bool // plan found the configuration among the options
}

// adopted is a service the host has adopted: its hook is appended.
type adopted struct{ service reflect.Value }

func (s *spec) adoptedTag() string { return fmt.Sprintf(`name:"hostfx/%s"`, s.name) }

// here builds the service in this process: its constructor, with the
// service's identity and a logger that names it, and, for the rest of the
// graph, the service under its name, and under its type if it is the only
// one. Anything that takes the service makes the host adopt it first, so
// its hook comes before the hooks of what depends on it, as in plain fx.
//
// A plain function is provided as it is, with name tags that are the
// service's own on its identity and logger parameters and on its results,
// so that two registrations of it never meet. Other constructors
// (fx.Annotate, fx.In or fx.Out structs) run in a module of their own,
// whose private scope does the same; a module per service would cost every
// provider of the app a copy in each scope, so it is the exception.
//
// Each fx.Provide records its caller's stack, so the constructors of a
// service go into as few as possible.
func (s *spec) here() fx.Option {
	if ctors, ok := s.flat(); ok {
		return fx.Provide(ctors...)
	}
	svc := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(tagOf(s.tag))}
	return fx.Options(
		fx.Module("hostfx:"+s.name,
			fx.Provide(s.ctor, func() Identity { return s.identity() }, s.logger, s.adopt(svc, ""), fx.Private),
			fx.Provide(append([]any{fx.Annotate(func(a *adopted) *adopted { return a }, fx.ResultTags(s.adoptedTag()))},
				s.exports("")...)...),
		),
	)
}

// flat provides a plain function constructor with the service's own tags,
// and reports false for any other.
func (s *spec) flat() ([]any, bool) {
	fn := reflect.ValueOf(s.ctor)
	if fn.Kind() != reflect.Func || s.tag != "" {
		return nil, false
	}
	t := fn.Type()
	identityTag := fmt.Sprintf(`name:"hostfx.identity/%s"`, s.name)
	loggerTag := fmt.Sprintf(`name:"hostfx.log/%s"`, s.name)
	var params, results []string
	var ctors []any
	for i := range t.NumIn() {
		switch in := t.In(i); {
		case embeds(in, fxInType):
			return nil, false
		case in == reflect.TypeFor[Identity]():
			params = append(params, identityTag)
		case in == reflect.TypeFor[*zap.Logger]():
			params = append(params, loggerTag)
		default:
			params = append(params, "")
		}
	}
	svcTag := fmt.Sprintf(`name:"hostfx.service/%s"`, s.name)
	for i := range t.NumOut() {
		switch out := t.Out(i); {
		case out == errorType:
		case embeds(out, fxOutType):
			return nil, false
		case out == s.typ:
			results = append(results, svcTag)
		default:
			results = append(results, fmt.Sprintf(`name:"hostfx.result/%s/%d"`, s.name, i))
		}
	}
	if slices.Contains(params, identityTag) {
		ctors = append(ctors, fx.Annotated{Name: "hostfx.identity/" + s.name, Target: func() Identity { return s.identity() }})
	}
	if slices.Contains(params, loggerTag) {
		ctors = append(ctors, fx.Annotated{Name: "hostfx.log/" + s.name, Target: s.logger})
	}
	svc := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(svcTag)}
	return append(ctors,
		fx.Annotate(s.ctor, fx.ParamTags(params...), fx.ResultTags(results...)),
		s.adopt(svc, s.adoptedTag(), s.exportTags()...),
	), true
}

// exportTags are the tags the rest of the graph finds the service by: its
// name, and no tag, for its type, if it is the only one of its type.
func (s *spec) exportTags() []string {
	if s.plain {
		return []string{fmt.Sprintf(`name:%q`, s.name), ""}
	}
	return []string{fmt.Sprintf(`name:%q`, s.name)}
}

func (s *spec) identity() Identity {
	return Identity{Name: s.decl.name, Replica: s.replica, Service: s.name}
}

// logger is the service's logger: the app's, with the service's name.
func (s *spec) logger(h *host) *zap.Logger { return h.log.With(zap.String("service", s.name)) }

// adopt makes the host adopt the service, given as svc, and provides the
// adopted service with tag, and the service itself with each of exports.
// One constructor does it all: each costs the graph a node, and a struct
// type made at run time.
func (s *spec) adopt(svc reflect.StructField, tag string, exports ...string) any {
	out := []reflect.StructField{{Name: "Adopted", Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(tag)}}
	for i, t := range exports {
		out = append(out, reflect.StructField{Name: fmt.Sprintf("Service%d", i), Type: s.typ, Tag: reflect.StructTag(t)})
	}
	return makeFunc(
		[]reflect.StructField{svc,
			{Name: "Host", Type: reflect.TypeFor[*host]()},
			{Name: "Lifecycle", Type: reflect.TypeFor[fx.Lifecycle]()}},
		out,
		func(in reflect.Value) ([]reflect.Value, error) {
			v := in.Field(1)
			h := in.Field(2).Interface().(*host)
			lc := in.Field(3).Interface().(fx.Lifecycle)
			if err := h.register(s, v.Interface(), lc); err != nil {
				return nil, err
			}
			vals := []reflect.Value{reflect.ValueOf(&adopted{service: v})}
			for range exports {
				vals = append(vals, v)
			}
			return vals, nil
		})
}

// exports provide the adopted service, found with token, to the rest of
// the graph: under its name, and under its type if it is the only one.
// They take only the adopted service, never the service's own type: a
// provider of the type at the root would otherwise stand between a
// service's module and its own constructor.
func (s *spec) exports(token string) []any {
	export := func(tag string) any {
		out := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(tag)}
		in := reflect.StructField{Name: "Adopted", Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(token)}
		return makeFunc([]reflect.StructField{in}, []reflect.StructField{out},
			func(v reflect.Value) ([]reflect.Value, error) {
				return []reflect.Value{v.Field(1).Interface().(*adopted).service}, nil
			})
	}
	opts := []any{export(fmt.Sprintf(`name:%q`, s.name))}
	if s.plain {
		opts = append(opts, export(""))
	}
	return opts
}

// elsewhere provides, under the service's name and type, an error that
// says why a process-mode service cannot be injected in this process.
func (s *spec) elsewhere() fx.Option {
	err := s.errorf("it runs in a child process, so its value cannot be injected here; " +
		"run the service that depends on it in the same child, or give it a HandleCall method and call it with app.Call")
	fail := func(tag string) any {
		out := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(tag)}
		return makeFunc(nil, []reflect.StructField{out}, func(reflect.Value) ([]reflect.Value, error) { return nil, err })
	}
	opts := []fx.Option{fx.Provide(fail(fmt.Sprintf(`name:%q`, s.name)))}
	if s.plain {
		opts = append(opts, fx.Provide(fail("")))
	}
	return fx.Options(opts...)
}

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

func tagOf(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(`name:%q`, name)
}

// makeFunc makes a constructor that takes an fx.In struct of in and
// returns an fx.Out struct of out and an error. body gets the fx.In value
// and returns out's field values, or an error.
func makeFunc(in, out []reflect.StructField, body func(reflect.Value) ([]reflect.Value, error)) any {
	inT := reflect.StructOf(append([]reflect.StructField{{Name: "In", Type: fxInType, Anonymous: true}}, in...))
	outT := reflect.StructOf(append([]reflect.StructField{{Name: "Out", Type: fxOutType, Anonymous: true}}, out...))
	fn := reflect.FuncOf([]reflect.Type{inT}, []reflect.Type{outT, errorType}, false)
	return reflect.MakeFunc(fn, func(args []reflect.Value) []reflect.Value {
		res := reflect.New(outT).Elem()
		vals, err := body(args[0])
		if err != nil {
			return []reflect.Value{res, reflect.ValueOf(&err).Elem()}
		}
		for i, v := range vals {
			res.Field(i + 1).Set(v)
		}
		return []reflect.Value{res, reflect.Zero(errorType)}
	}).Interface()
}
