package config

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The built-in rules of `validate` tags mean what they mean to
// go-playground/validator, so a program can move to the validate package
// without changing a tag:
//
//   - required: the value is not the zero value (nor a nil list or map);
//   - omitempty: skip the other rules when the value is the zero value;
//   - min, max, len, gt, gte, lt, lte: compare a number with the
//     parameter, or the length of a string (in characters), list or map;
//     a duration's parameter is a duration, such as gt=0 or max=1h;
//   - oneof: a string or an integer is one of the parameter's
//     space-separated words, such as oneof=dev prod or oneof=1 2 3
//     (integers in decimal).
var builtinRules = []string{"required", "omitempty", "min", "max", "len", "gt", "gte", "lt", "lte", "oneof"}

// ruleError is a field that failed a built-in rule, or whose tag is
// wrong: then misuse says what is wrong with it.
type ruleError struct {
	ns, tag, param string
	misuse         string
}

func (e *ruleError) Error() string {
	if e.misuse != "" {
		return fmt.Sprintf("%s: %s", e.ns, e.misuse)
	}
	rule := e.tag
	if e.param != "" {
		rule += "=" + e.param
	}
	return fmt.Sprintf("%s: failed the rule %q", e.ns, rule)
}

func (e *ruleError) StructNamespace() string { return e.ns }
func (e *ruleError) Tag() string             { return e.tag }
func (e *ruleError) Param() string           { return e.param }

// errNotComparable is what compare returns for a value that has no size,
// such as a bool.
var errNotComparable = errors.New("not a number, string, list or map")

// checkRules checks the built-in rules of the `validate` tags of the
// struct v and of the structs in its fields, as go-playground/validator
// would: each field up to the first rule it fails. It joins the failures.
func checkRules(v reflect.Value) error {
	var errs []error
	walkRules(v, v.Type().Name(), &errs)
	return errors.Join(errs...)
}

func walkRules(v reflect.Value, ns string, errs *[]error) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("validate")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		fv, fns := v.Field(i), ns+"."+sf.Name
		if tag != "" {
			err, skipped := checkField(fv, fns, tag)
			if err != nil {
				*errs = append(*errs, err)
			}
			if err != nil || skipped {
				continue // a section that failed or was omitted is not checked inside
			}
		}
		for fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		if isSection(fv.Type()) {
			walkRules(fv, fns, errs)
		}
	}
}

// checkField checks the rules of one field's tag, in order, and returns
// the first it fails, or whether omitempty skipped the rest.
func checkField(v reflect.Value, ns, tag string) (failed *ruleError, skipped bool) {
	rules := strings.Split(tag, ",")
	for _, r := range rules {
		name, _, _ := strings.Cut(r, "=")
		if !slices.Contains(builtinRules, name) {
			return &ruleError{ns: ns, tag: name, misuse: fmt.Sprintf(
				"the rule %q of the validate tag is not built in; give config.Validation(validate.New()) to config.New for all of go-playground/validator's rules", r)}, false
		}
	}
	// A pointer that is set has a value, even a zero one.
	pointer := v.Kind() == reflect.Pointer
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	for _, r := range rules {
		name, param, _ := strings.Cut(r, "=")
		if v.Kind() == reflect.Pointer && name != "omitempty" {
			return &ruleError{ns: ns, tag: name, param: param}, false // nil: no value to check
		}
		ok, err := passes(v, name, param, pointer)
		switch {
		case err != nil:
			return &ruleError{ns: ns, tag: name, param: param, misuse: fmt.Sprintf("the rule %q of the validate tag: %v", r, err)}, false
		case !ok && name == "omitempty":
			return nil, true
		case !ok:
			return &ruleError{ns: ns, tag: name, param: param}, false
		}
	}
	return nil, false
}

// passes reports whether v passes the built-in rule name with param. For
// omitempty it says whether there is a value to check. pointer says v was
// reached through a pointer, which makes even a zero v a value.
func passes(v reflect.Value, name, param string, pointer bool) (bool, error) {
	switch name {
	case "required", "omitempty":
		if param != "" {
			return false, errors.New("takes no parameter")
		}
		return (pointer && v.Kind() != reflect.Pointer) || hasValue(v), nil
	case "oneof":
		return oneOf(v, param)
	}
	if param == "" {
		return false, fmt.Errorf("wants a parameter, such as %s=1", name)
	}
	c, err := compare(v, param)
	switch {
	case errors.Is(err, errNotComparable):
		return false, fmt.Errorf("applies to numbers, strings, lists and maps, not to a %v", v.Type())
	case err != nil && v.Type() == durationType:
		return false, fmt.Errorf("wants a duration, such as %s=1s, not %q", name, param)
	case err != nil:
		return false, fmt.Errorf("wants a number, not %q", param)
	}
	switch name {
	case "min", "gte":
		return c >= 0, nil
	case "max", "lte":
		return c <= 0, nil
	case "gt":
		return c > 0, nil
	case "lt":
		return c < 0, nil
	}
	return c == 0, nil // len
}

// hasValue reports whether v is set: not nil for what can be, else not
// the zero value.
func hasValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
		return !v.IsNil()
	}
	return !v.IsZero()
}

// compare compares v with param: the value of a number, or the length of a
// string, list or map.
func compare(v reflect.Value, param string) (int, error) {
	switch v.Kind() {
	case reflect.String:
		n, err := strconv.ParseInt(param, 0, 64)
		return cmp.Compare(int64(utf8.RuneCountInString(v.String())), n), err
	case reflect.Slice, reflect.Array, reflect.Map:
		n, err := strconv.ParseInt(param, 0, 64)
		return cmp.Compare(int64(v.Len()), n), err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		d, err := time.ParseDuration(param)
		if v.Type() == durationType && err == nil {
			n = int64(d)
		} else {
			n, err = strconv.ParseInt(param, 0, 64)
		}
		return cmp.Compare(v.Int(), n), err
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(param, 0, 64)
		return cmp.Compare(v.Uint(), n), err
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(param, 64)
		return cmp.Compare(v.Float(), f), err
	}
	return 0, errNotComparable
}

// oneOf reports whether v, a string or an integer, is one of the words of
// param.
func oneOf(v reflect.Value, param string) (bool, error) {
	words := strings.Fields(param)
	if len(words) == 0 {
		return false, errors.New("wants the values it allows, such as oneof=dev prod")
	}
	for _, w := range words {
		var ok bool
		var err error
		switch v.Kind() {
		case reflect.String:
			ok = v.String() == w
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			var n int64
			n, err = strconv.ParseInt(w, 10, 64)
			ok = v.Int() == n
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			var n uint64
			n, err = strconv.ParseUint(w, 10, 64)
			ok = v.Uint() == n
		default:
			return false, fmt.Errorf("applies to strings and integers, not to a %v", v.Type())
		}
		if err != nil {
			return false, fmt.Errorf("wants integers, not %q", w)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}
