package app

import (
	"fmt"
	"reflect"
	"slices"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/internal/proc"
)

// A service's part of the graph: its constructor, how the host adopts it,
// and what the rest of the graph may take from it.

// part is a registration's share of the graph: its constructors, the
// invokes that make fx build it, and options of its own. The parts of
// registrations side by side are joined into one fx.Provide and one
// fx.Invoke (see join), since fx records a stack trace for each. A part
// stands in the tree only between the rewrite that makes it and join.
type part struct {
	fx.Option // never set: join turns every part into options
	provides  []any
	invokes   []any
	options   []fx.Option
}

func (p *part) add(q part) {
	p.provides = append(p.provides, q.provides...)
	p.invokes = append(p.invokes, q.invokes...)
	p.options = append(p.options, q.options...)
}

// join replaces each run of parts in opts with the options they stand for.
func join(opts []fx.Option) []fx.Option {
	out := make([]fx.Option, 0, len(opts))
	var run *part
	flush := func() {
		if run == nil {
			return
		}
		if len(run.provides) > 0 {
			out = append(out, fx.Provide(run.provides...))
		}
		out = append(out, run.options...)
		if len(run.invokes) > 0 {
			out = append(out, fx.Invoke(run.invokes...))
		}
		run = nil
	}
	for _, o := range opts {
		p, ok := o.(*part)
		if !ok {
			flush()
			out = append(out, o)
			continue
		}
		if run == nil {
			run = new(part)
		}
		run.add(*p)
	}
	flush()
	return out
}

// graphs is the registration's part of the graph in this process: each
// replica's, and the Client that reaches them all.
func (s *spec) graphs(child *proc.Child) *part {
	instances := s.group
	if len(instances) == 0 {
		instances = []*spec{s}
	}
	all := new(part)
	built, withClient := 0, false
	for _, r := range instances {
		p, here := r.graph(child)
		if here {
			built++
		}
		all.add(p.part)
		withClient = withClient || p.client
	}
	switch {
	case s.err != nil || withClient:
	case child != nil && s.mode.Process():
		// A sibling's service, in a child: its Client builds, and its calls
		// say that a child cannot reach its siblings.
		all.provides = append(all.provides, s.client(nil))
	case built == len(instances):
		// Every instance is built here.
		all.provides = append(all.provides, s.client(instances))
	}
	return all
}

// servicePart is a service's part of the graph, which may provide its
// registration's Client too.
type servicePart struct {
	part
	client bool
}

// graph is the service's part of the graph in this process, and whether
// it is built here.
func (s *spec) graph(child *proc.Child) (servicePart, bool) {
	switch {
	case s.err != nil:
		// The host reports every bad registration at once when it is built.
		return servicePart{}, false
	case s.mode.Process() && child == nil:
		// It runs in a child process: this one never builds it.
		register := func(h *host, lc fx.Lifecycle) (*adopted, error) { return new(adopted), h.registerProcess(s, lc) }
		return servicePart{part: part{
			provides: append(s.elsewhere(), fx.Annotate(register, fx.ResultTags(s.adoptedTag()))),
			invokes:  []any{s.construct()},
		}}, true
	case child != nil && s.mode.Process() && child.Service != s.name:
		// Another child's service.
		return servicePart{}, false
	case child != nil && child.Service != s.name:
		// A child builds only its service and what that depends on.
		return s.here(), true
	}
	p := s.here()
	p.invokes = append(p.invokes, s.construct())
	return p, true
}

// client provides the registration's Client under its name, once every
// instance is adopted: a constructor that takes it comes after them all.
func (s *spec) client(instances []*spec) any {
	in := []reflect.StructField{{Name: "Host", Type: reflect.TypeFor[*host]()}}
	for i, r := range instances {
		in = append(in, reflect.StructField{Name: fmt.Sprintf("Adopted%d", i), Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(r.adoptedTag())})
	}
	out := []reflect.StructField{{Name: "Client", Type: reflect.TypeFor[*Client](), Tag: reflect.StructTag(tagOf(s.decl.name))}}
	return makeFunc(in, out, func(v reflect.Value) ([]reflect.Value, error) {
		h := v.FieldByName("Host").Interface().(*host)
		return []reflect.Value{reflect.ValueOf(&Client{host: h, name: s.decl.name})}, nil
	})
}

// construct is the invoke that makes fx build the service, at the place
// of its registration among the program's invokes.
func (s *spec) construct() any {
	in := reflect.StructField{Name: "Adopted", Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(s.adoptedTag())}
	inT := reflect.StructOf([]reflect.StructField{{Name: "In", Type: fxInType, Anonymous: true}, in})
	return reflect.MakeFunc(reflect.FuncOf([]reflect.Type{inT}, nil, false),
		func([]reflect.Value) []reflect.Value { return nil }).Interface()
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
func (s *spec) here() servicePart {
	if s.flatShape() {
		// Without replicas, the service's adoption provides its Client too.
		client := s.replica == 0
		return servicePart{part: part{provides: s.flat(client)}, client: client}
	}
	svc := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(tagOf(s.tag))}
	return servicePart{part: part{options: []fx.Option{
		fx.Module("hostfx:"+s.name,
			fx.Provide(s.ctor, func() Identity { return s.identity() }, s.logger, s.adopt(svc, "", false), fx.Private),
			fx.Provide(append([]any{fx.Annotate(func(a *adopted) *adopted { return a }, fx.ResultTags(s.adoptedTag()))},
				s.exports("")...)...),
		),
	}}}
}

// flatShape reports whether the constructor is a plain function: no
// fx.Annotate, no fx.In or fx.Out struct.
func (s *spec) flatShape() bool {
	t := reflect.TypeOf(s.ctor)
	if t == nil || t.Kind() != reflect.Func || s.tag != "" {
		return false
	}
	for i := range t.NumIn() {
		if embeds(t.In(i), fxInType) {
			return false
		}
	}
	for i := range t.NumOut() {
		if embeds(t.Out(i), fxOutType) {
			return false
		}
	}
	return true
}

// flat provides a plain function constructor with the service's own tags,
// and, if client, the registration's Client as the service is adopted.
func (s *spec) flat(client bool) []any {
	t := reflect.TypeOf(s.ctor)
	identityTag := fmt.Sprintf(`name:"hostfx.identity/%s"`, s.name)
	loggerTag := fmt.Sprintf(`name:"hostfx.log/%s"`, s.name)
	var params, results []string
	var ctors []any
	for i := range t.NumIn() {
		switch t.In(i) {
		case reflect.TypeFor[Identity]():
			params = append(params, identityTag)
		case reflect.TypeFor[*zap.Logger]():
			params = append(params, loggerTag)
		default:
			params = append(params, "")
		}
	}
	svcTag := fmt.Sprintf(`name:"hostfx.service/%s"`, s.name)
	for i := range t.NumOut() {
		switch t.Out(i) {
		case errorType:
		case s.typ:
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
	// fx.Annotate builds a container of its own each time; a constructor
	// that needs no parameter tags and has one result is named as it is.
	ctor := any(fx.Annotated{Name: "hostfx.service/" + s.name, Target: s.ctor})
	if len(ctors) > 0 || len(results) > 1 {
		ctor = fx.Annotate(s.ctor, fx.ParamTags(params...), fx.ResultTags(results...))
	}
	return append(ctors, ctor, s.adopt(svc, s.adoptedTag(), client, s.exportTags()...))
}

// exportTags are the tags the rest of the graph finds the service by: its
// name, and no tag, for its type, if it is the only one of its type.
func (s *spec) exportTags() []string {
	if s.plain {
		return []string{tagOf(s.name), ""}
	}
	return []string{tagOf(s.name)}
}

func (s *spec) identity() Identity {
	return Identity{Name: s.decl.name, Replica: s.replica, Service: s.name, config: s.config}
}

// logger is the service's logger: the app's, with the service's name.
func (s *spec) logger(h *host) *zap.Logger { return h.log.With(zap.String("service", s.name)) }

// adopt makes the host adopt the service, given as svc, and provides the
// adopted service with tag, the registration's Client if client, and the
// service itself with each of exports. One constructor does it all: each
// costs the graph a node, and struct types made at run time.
func (s *spec) adopt(svc reflect.StructField, tag string, client bool, exports ...string) any {
	out := []reflect.StructField{{Name: "Adopted", Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(tag)}}
	for i, t := range exports {
		out = append(out, reflect.StructField{Name: fmt.Sprintf("Service%d", i), Type: s.typ, Tag: reflect.StructTag(t)})
	}
	if client {
		out = append(out, reflect.StructField{Name: "Client", Type: reflect.TypeFor[*Client](), Tag: reflect.StructTag(tagOf(s.decl.name))})
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
			if client {
				vals = append(vals, reflect.ValueOf(&Client{host: h, name: s.decl.name}))
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
	var ctors []any
	in := reflect.StructField{Name: "Adopted", Type: reflect.TypeFor[*adopted](), Tag: reflect.StructTag(token)}
	for _, tag := range s.exportTags() {
		out := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(tag)}
		ctors = append(ctors, makeFunc([]reflect.StructField{in}, []reflect.StructField{out},
			func(v reflect.Value) ([]reflect.Value, error) {
				return []reflect.Value{v.Field(1).Interface().(*adopted).service}, nil
			}))
	}
	return ctors
}

// elsewhere provides, under the service's name and type, an error that
// says why a process-mode service cannot be injected in this process.
func (s *spec) elsewhere() []any {
	err := s.errorf("it runs in a child process, so its value cannot be injected here; " +
		"run the service that depends on it in the same child, or give it a HandleCall method and call it through its *app.Client")
	var ctors []any
	for _, tag := range s.exportTags() {
		out := reflect.StructField{Name: "Service", Type: s.typ, Tag: reflect.StructTag(tag)}
		ctors = append(ctors, makeFunc(nil, []reflect.StructField{out}, func(reflect.Value) ([]reflect.Value, error) { return nil, err }))
	}
	return ctors
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
