package app

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"unicode"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/internal/proc"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// ErrInvalidService is wrapped by every error that rejects a service
// registration.
var ErrInvalidService = errors.New("invalid service")

// declGroup collects every registration, so the host reports all the
// invalid ones at once and knows every name the configuration may set.
const declGroup = "hostfx.services"

var (
	errorType       = reflect.TypeOf((*error)(nil)).Elem()
	runnerType      = reflect.TypeOf((*modes.Runner)(nil)).Elem()
	asyncRunnerType = reflect.TypeOf((*modes.AsyncRunner)(nil)).Elem()
	hostType        = reflect.TypeOf((*host)(nil))
	lifecycleType   = reflect.TypeOf((*fx.Lifecycle)(nil)).Elem()
)

// registrations numbers app.Service calls, so anything listing services
// lists them in the order the program registered them.
var registrations atomic.Int64

// decl is one app.Service call.
type decl struct {
	seq     int64
	name    string
	mode    modes.ExecutionMode
	opts    []lifecycle.Option
	ctor    reflect.Value
	typ     reflect.Type // the service's type: the constructor's first result
	hasErr  bool         // the constructor also returns an error
	at      string       // file:line of the app.Service call
	ctorDoc string       // the constructor's name and file:line
	err     error        // why the registration is invalid, if it is
}

// Service registers a long-running service and returns it as an fx.Option.
//
// The constructor is an ordinary fx constructor: its parameters are
// injected, and it returns the service, optionally with an error. The mode
// picks the entry point: the *_ASYNC modes call RunAsync (modes.AsyncRunner),
// the others call Run (modes.Runner). The constructed service is provided
// to the graph as its own type, so other constructors may depend on it; a
// service starts after everything it depends on and stops before it.
//
// Mistakes are reported when the app is built, naming the service, its
// mode and the file:line of this call.
func Service(name string, constructor any, mode modes.ExecutionMode, opts ...lifecycle.Option) fx.Option {
	d := newDecl(name, constructor, mode, opts, caller(2))
	declared := fx.Provide(fx.Annotated{Group: declGroup, Target: func() *decl { return d }})
	if d.err != nil {
		// The host reports every bad registration at once when it is built.
		return declared
	}
	child := proc.Current()
	switch {
	case d.mode.Process() && (child == nil || child.Service != d.name):
		// The service runs in a child process: this process never builds it.
		if child != nil {
			// Another child's service: nothing here may depend on it, as in
			// the parent, so it costs this child nothing to build.
			return fx.Options()
		}
		return fx.Options(declared, fx.Provide(d.elsewhere()), fx.Invoke(d.spawn()))
	case child != nil && child.Service != d.name:
		// A child builds only its service and what that depends on.
		return fx.Provide(d.constructor())
	}
	return fx.Options(
		declared,
		fx.Provide(d.constructor()),
		fx.Invoke(d.construct()),
	)
}

// elsewhere provides the service's type with a constructor that explains
// why a process-mode service cannot be injected in this process.
func (d *decl) elsewhere() any {
	fn := reflect.FuncOf(nil, []reflect.Type{d.typ, errorType}, false)
	err := d.errorf("it runs in a child process, so its value cannot be injected here; " +
		"run the service that depends on it in the same child, or give it a HandleCall method and call it with app.Supervisor.Call")
	return reflect.MakeFunc(fn, func([]reflect.Value) []reflect.Value {
		return []reflect.Value{reflect.Zero(d.typ), reflect.ValueOf(&err).Elem()}
	}).Interface()
}

// spawn returns an invoke that registers the child-process proxy of a
// process-mode service, at its place in the registration order.
func (d *decl) spawn() any {
	return func(h *host, lc fx.Lifecycle) error { return h.registerProcess(d, lc) }
}

func newDecl(name string, constructor any, mode modes.ExecutionMode, opts []lifecycle.Option, at string) *decl {
	d := &decl{seq: registrations.Add(1), name: name, mode: mode, opts: opts, at: at}
	d.err = d.check(constructor)
	return d
}

// check validates a registration and fills in what it learns.
func (d *decl) check(constructor any) error {
	if d.name == "" {
		return fmt.Errorf("%w: app.Service at %s: the name is empty; give every service a unique name", ErrInvalidService, d.at)
	}
	if i := strings.IndexFunc(d.name, unicode.IsControl); i >= 0 {
		return fmt.Errorf("%w: app.Service(%q) at %s: the name holds the control character %U; use letters, digits and punctuation",
			ErrInvalidService, d.name, d.at, []rune(d.name[i:])[0])
	}
	if constructor == nil {
		return d.errorf("the constructor is nil; pass a function that returns the service, such as NewWorker")
	}
	d.ctor = reflect.ValueOf(constructor)
	t := d.ctor.Type()
	if t.Kind() != reflect.Func {
		return d.errorf("the constructor is a %v, not a function; pass a function that returns the service", t)
	}
	if d.ctor.IsNil() {
		return d.errorf("the constructor is a nil %v; pass a function that returns the service", t)
	}
	d.ctorDoc = funcDoc(d.ctor)
	if t.IsVariadic() {
		return d.errorf("constructor %s is variadic; take a slice or a value group instead", d.ctorDoc)
	}
	switch {
	case t.NumOut() == 1 && t.Out(0) != errorType:
	case t.NumOut() == 2 && t.Out(0) != errorType && t.Out(1) == errorType:
		d.hasErr = true
	default:
		return d.errorf("constructor %s returns %s; want (Service) or (Service, error)", d.ctorDoc, results(t))
	}
	d.typ = t.Out(0)
	if !d.mode.Valid() {
		return d.errorf("%v", fmt.Errorf("%w %d: want one of %v", modes.ErrUnknownMode, uint8(d.mode), modes.Modes()))
	}
	if d.mode.Async() && !d.typ.Implements(asyncRunnerType) {
		return d.errorf("%v has no method RunAsync(context.Context, *modes.Loop) error, which %v calls; add it, or pick %v, which calls Run",
			d.typ, d.mode, modes.SeparateThread)
	}
	if !d.mode.Async() && !d.typ.Implements(runnerType) {
		return d.errorf("%v has no method Run(context.Context) error, which %v calls; add it, or pick %v, which calls RunAsync",
			d.typ, d.mode, modes.MainEventLoopAsync)
	}
	if err := lifecycle.DefaultSettings().With(d.opts...).Validate(); err != nil {
		return d.errorf("%v", err)
	}
	return nil
}

func (d *decl) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: service %q (%v) at %s: %s", ErrInvalidService, d.name, d.mode, d.at, fmt.Sprintf(format, args...))
}

// constructor wraps the user's constructor so the service is registered
// with the host the moment fx builds it. fx builds constructors in
// dependency order, so registration order is a valid start order, and the
// hooks interleave correctly with the hooks of the service's dependencies.
func (d *decl) constructor() any {
	t := d.ctor.Type()
	in := make([]reflect.Type, 0, t.NumIn()+2)
	for i := range t.NumIn() {
		in = append(in, t.In(i))
	}
	in = append(in, hostType, lifecycleType)
	// The wrapper always returns an error, so registration can fail cleanly
	// even when the user's constructor cannot.
	fn := reflect.FuncOf(in, []reflect.Type{d.typ, errorType}, false)
	return reflect.MakeFunc(fn, func(args []reflect.Value) []reflect.Value {
		n := len(args) - 2
		h := args[n].Interface().(*host)
		lc := args[n+1].Interface().(fx.Lifecycle)
		res := d.ctor.Call(args[:n])
		if d.hasErr && !res[1].IsNil() {
			return res
		}
		errv := reflect.Zero(errorType)
		if err := h.register(d, res[0].Interface(), lc); err != nil {
			errv = reflect.ValueOf(&err).Elem()
		}
		return []reflect.Value{res[0], errv}
	}).Interface()
}

// construct returns an invoke function that asks fx for the service, so it
// is built even when nothing else depends on it.
func (d *decl) construct() any {
	fn := reflect.FuncOf([]reflect.Type{d.typ}, nil, false)
	return reflect.MakeFunc(fn, func([]reflect.Value) []reflect.Value { return nil }).Interface()
}

// caller returns the file:line skip frames up.
func caller(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown location"
	}
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

func funcDoc(fn reflect.Value) string {
	f := runtime.FuncForPC(fn.Pointer())
	if f == nil {
		return fn.Type().String()
	}
	file, line := f.FileLine(f.Entry())
	return fmt.Sprintf("%s (%s:%d)", f.Name(), filepath.Base(file), line)
}

func results(t reflect.Type) string {
	if t.NumOut() == 0 {
		return "nothing"
	}
	s := "("
	for i := range t.NumOut() {
		if i > 0 {
			s += ", "
		}
		s += t.Out(i).String()
	}
	return s + ")"
}

// entryPoint is the interface the mode calls.
func entryPoint(m modes.ExecutionMode) reflect.Type {
	if m.Async() {
		return asyncRunnerType
	}
	return runnerType
}

func entryName(m modes.ExecutionMode) string {
	if m.Async() {
		return "RunAsync(context.Context, *modes.Loop) error"
	}
	return "Run(context.Context) error"
}
