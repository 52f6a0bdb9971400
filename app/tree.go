package app

import (
	"fmt"
	"reflect"
	"unsafe"

	"go.uber.org/fx"
)

// The app reads the whole tree of options before fx builds the graph, as
// a host builder does: it needs every registration and the configuration
// first, to know each service's mode, whether its type is registered once,
// and, in a child process, which of the program's invokes to leave out.
//
// fx exposes no way to look inside fx.Options or fx.Module, so the tree is
// read with reflect: fx.Options is a slice of options, and fx.Module keeps
// its options in a field, which is written through unsafe in a copy of the
// module, never in the program's own value. The shapes are checked when
// this package starts (see treeShapes), so a version of fx that changes
// them fails every app loudly instead of hiding registrations.

var (
	optionType      = reflect.TypeFor[fx.Option]()
	groupType       = reflect.TypeOf(fx.Options())
	moduleType      = reflect.TypeOf(fx.Module(""))
	invokeType      = reflect.TypeOf(fx.Invoke())
	moduleOptsField = "options"
	treeShapeErr    = treeShapes()
)

// treeShapes checks that fx's containers have the shapes the walk expects.
func treeShapes() error {
	if groupType.Kind() != reflect.Slice || groupType.Elem() != optionType {
		return fmt.Errorf("fx.Options is a %v, not a slice of fx.Option", groupType)
	}
	if moduleType.Kind() != reflect.Struct {
		return fmt.Errorf("fx.Module is a %v, not a struct", moduleType)
	}
	f, ok := moduleType.FieldByName(moduleOptsField)
	if !ok || f.Type != reflect.SliceOf(optionType) {
		return fmt.Errorf("fx.Module has no field %q of type []fx.Option", moduleOptsField)
	}
	return nil
}

// A rewriter sees an option that is not a container and says what takes
// its place: ok false keeps it as it is; ok true replaces it with repl, or
// drops it when repl is nil.
type rewriter func(opt fx.Option) (repl fx.Option, ok bool)

// rewrite returns opt with f applied to every option in its tree, looking
// inside fx.Options and fx.Module, which are rebuilt only where something
// changed.
func rewrite(opt fx.Option, f rewriter) (fx.Option, bool) {
	if opt == nil {
		return nil, false
	}
	v := reflect.ValueOf(opt)
	switch v.Type() {
	case groupType:
		out, changed := rewriteAll(v, f)
		if !changed {
			return opt, false
		}
		return fx.Options(out...), true
	case moduleType:
		cp := reflect.New(moduleType).Elem()
		cp.Set(v)
		field := cp.FieldByName(moduleOptsField)
		opts := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem()
		out, changed := rewriteAll(opts, f)
		if !changed {
			return opt, false
		}
		opts.Set(reflect.ValueOf(out))
		return cp.Interface().(fx.Option), true
	}
	if repl, ok := f(opt); ok {
		return repl, true
	}
	return opt, false
}

func rewriteAll(opts reflect.Value, f rewriter) ([]fx.Option, bool) {
	out := make([]fx.Option, 0, opts.Len())
	changed := false
	for i := range opts.Len() {
		o, _ := opts.Index(i).Interface().(fx.Option)
		n, ok := rewrite(o, f)
		changed = changed || ok
		if n != nil {
			out = append(out, n)
		}
	}
	return join(out), changed
}

// isInvoke reports whether opt is an fx.Invoke.
func isInvoke(opt fx.Option) bool { return reflect.TypeOf(opt) == invokeType }
