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

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// ErrInvalidService is wrapped by every error that rejects a service
// registration.
var ErrInvalidService = errors.New("invalid service")

var (
	errorType       = reflect.TypeFor[error]()
	runnerType      = reflect.TypeFor[modes.Runner]()
	asyncRunnerType = reflect.TypeFor[modes.AsyncRunner]()
	fxInType        = reflect.TypeFor[fx.In]()
	fxOutType       = reflect.TypeFor[fx.Out]()
)

// registrations numbers app.Service calls, so anything listing services
// lists them in the order the program registered them.
var registrations atomic.Int64

// decl is one app.Service call: what the program declared, before any app
// reads it.
type decl struct {
	seq     int64
	name    string
	mode    modes.ExecutionMode // as registered; the configuration may override it
	opts    []lifecycle.Option
	ctor    any
	at      string // file:line of the app.Service call
	ctorDoc string // the constructor's name and file:line
	// ctorFunc is the constructor's function name, as a stack names it.
	ctorFunc string
	// built is the type of the function fx calls: the constructor's own,
	// or the one fx.Annotate builds from it.
	built reflect.Type
	// The service among the constructor's results: its type, and the name
	// tag it has there, if any.
	typ reflect.Type
	tag string
	err error // why the registration is invalid, if it is
}

// registration is the option Service returns. New and Module read it and
// put the service's part of the graph in its place; fx itself cannot, so
// on its own it is an error that says what to do.
type registration struct {
	fx.Option
	d *decl
}

// Service registers a long-running service under a name and returns it as
// an fx.Option, to pass to New or Module, directly or inside fx.Options and
// fx.Module.
//
// The constructor is an ordinary fx constructor, in any shape fx accepts:
// a function, fx.Annotate of one, with fx.In parameters or fx.Out results,
// with or without an error. It may also take the service's Identity and a
// *zap.Logger that names the service. The service is the result whose type has the mode's entry point:
// the *_ASYNC modes call RunAsync (modes.AsyncRunner), the others Run
// (modes.Runner). Each registration builds its own instance, so one
// constructor may run under many names.
//
// Other constructors reach the service by its name, with the fx name tag
// `name:"<name>"`, or by its type where only one registration has that
// type; a service starts after everything it depends on and stops before
// it. A process-mode service's value lives in its child: this process
// reaches it with Call or Dial.
//
// Mistakes are reported when the app is built, naming the service, its
// mode and the file:line of this call.
func Service(name string, constructor any, mode modes.ExecutionMode, opts ...lifecycle.Option) fx.Option {
	d := &decl{seq: registrations.Add(1), name: name, mode: mode, opts: opts, ctor: constructor, at: caller(2)}
	d.err = d.check()
	return &registration{
		Option: fx.Error(fmt.Errorf("app.Service(%q) at %s: pass it to app.New or app.Module, which build its part of the graph; "+
			"fx.New and fxtest.New cannot", name, d.at)),
		d: d,
	}
}

// check validates a registration and fills in what it learns.
func (d *decl) check() error {
	if d.name == "" {
		return fmt.Errorf("%w: app.Service at %s: the name is empty; give every service a unique name", ErrInvalidService, d.at)
	}
	if i := strings.IndexFunc(d.name, unicode.IsControl); i >= 0 {
		return fmt.Errorf("%w: app.Service(%q) at %s: the name holds the control character %U; use letters, digits and punctuation",
			ErrInvalidService, d.name, d.at, []rune(d.name[i:])[0])
	}
	if i := strings.IndexAny(d.name, "#\"\\`"); i >= 0 {
		return fmt.Errorf("%w: app.Service(%q) at %s: the name holds %q, which names replicas or quotes fx's tags; "+
			"use letters, digits and other punctuation", ErrInvalidService, d.name, d.at, d.name[i])
	}
	if d.ctor == nil {
		return d.errorf("the constructor is nil; pass a function that returns the service, such as NewWorker")
	}
	fn, err := builtConstructor(d.ctor)
	if err != nil {
		return d.errorf("%v", err)
	}
	t := fn.Type()
	d.built = t
	if t.Kind() != reflect.Func {
		return d.errorf("the constructor is a %v, not a function; pass a function that returns the service", t)
	}
	if fn.IsNil() {
		return d.errorf("the constructor is a nil %v; pass a function that returns the service", t)
	}
	d.ctorDoc, d.ctorFunc = funcDoc(d.ctor, fn)
	if !d.mode.Valid() {
		return d.errorf("%v", fmt.Errorf("%w %d: want one of %v", modes.ErrUnknownMode, uint8(d.mode), modes.Modes()))
	}
	if d.typ, d.tag, err = serviceResult(t, entryPoint(d.mode)); err != nil {
		return d.errorf("constructor %s %v; want one result with %s, which %v calls", d.ctorDoc, err, entryName(d.mode), d.mode)
	}
	if err := lifecycle.DefaultSettings().With(d.opts...).Validate(); err != nil {
		return d.errorf("%v", err)
	}
	return nil
}

func (d *decl) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: service %q (%v) at %s: %s", ErrInvalidService, d.name, d.mode, d.at, fmt.Sprintf(format, args...))
}

// builtConstructor returns the function fx calls for ctor: ctor itself,
// or, for fx.Annotate, the function fx builds from it (with fx.In and
// fx.Out structs that carry the annotations). It builds a copy, so the
// program's value is left as it was.
func builtConstructor(ctor any) (reflect.Value, error) {
	v := reflect.ValueOf(ctor)
	if v.Kind() == reflect.Func {
		return v, nil
	}
	cp := reflect.New(v.Type())
	cp.Elem().Set(v)
	b, ok := cp.Interface().(interface{ Build() (any, error) })
	if !ok {
		return v, nil
	}
	fn, err := b.Build()
	if err != nil {
		return reflect.Value{}, fmt.Errorf("the constructor's annotations: %w", err)
	}
	return reflect.ValueOf(fn), nil
}

// serviceResult finds the service among a constructor's results: the one
// result, or fx.Out field, whose type has entry. It returns its type and
// its name tag.
func serviceResult(t reflect.Type, entry reflect.Type) (reflect.Type, string, error) {
	type found struct {
		typ reflect.Type
		tag string
	}
	var all, fit []found
	for i := range t.NumOut() {
		out := t.Out(i)
		if out == errorType {
			continue
		}
		if !embeds(out, fxOutType) {
			all = append(all, found{typ: out})
			continue
		}
		for j := range out.NumField() {
			f := out.Field(j)
			if f.Anonymous && f.Type == fxOutType || f.Tag.Get("group") != "" {
				continue
			}
			all = append(all, found{typ: f.Type, tag: f.Tag.Get("name")})
		}
	}
	for _, f := range all {
		if f.typ.Implements(entry) {
			fit = append(fit, f)
		}
	}
	switch {
	case len(all) == 0:
		return nil, "", errors.New("returns nothing")
	case len(fit) == 1:
		return fit[0].typ, fit[0].tag, nil
	case len(fit) > 1:
		return nil, "", fmt.Errorf("returns %d results with that method", len(fit))
	}
	types := make([]string, len(all))
	for i, f := range all {
		types[i] = f.typ.String()
	}
	return nil, "", fmt.Errorf("returns %s, which has no such method", strings.Join(types, ", "))
}

// embeds reports whether t is a struct that embeds marker, as fx.In and
// fx.Out structs do.
func embeds(t, marker reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous && f.Type == marker {
			return true
		}
	}
	return false
}

// caller returns the file:line skip frames up.
func caller(skip int) string {
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "unknown location"
	}
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

// funcDoc names the user's constructor and where it is: the function
// itself, or the one fx.Annotate was given. It returns the function's name
// too, as a stack shows it.
func funcDoc(ctor any, built reflect.Value) (string, string) {
	fn := built
	if v := reflect.ValueOf(ctor); v.Kind() == reflect.Func {
		fn = v
	} else if target := v.FieldByName("Target"); target.IsValid() && target.CanInterface() {
		if t := reflect.ValueOf(target.Interface()); t.Kind() == reflect.Func {
			fn = t
		}
	}
	f := runtime.FuncForPC(fn.Pointer())
	if f == nil {
		return fn.Type().String(), ""
	}
	file, line := f.FileLine(f.Entry())
	return fmt.Sprintf("%s (%s:%d)", f.Name(), filepath.Base(file), line), f.Name()
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
		return "RunAsync(context.Context, modes.Loop) error"
	}
	return "Run(context.Context) error"
}
