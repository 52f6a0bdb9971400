package config

import (
	"encoding"
	"reflect"
	"strings"
	"time"
	"unicode"
)

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
)

// field is a struct field that binds to a key.
type field struct {
	key    string // the key below the struct's, lower-cased
	ns     string // the field's path in Go names below the struct's
	index  []int
	typ    reflect.Type
	def    string // the `default` tag
	hasDef bool
	secret bool // tagged `secret:"true"`
}

// fieldsOf lists the fields of struct type t that bind to keys. A field's
// key is its `config` tag, or its name in snake_case; `config:"-"` skips
// it. The fields of an embedded struct without a tag are the struct's
// own; the outer struct's fields win over them.
func fieldsOf(t reflect.Type) []field {
	var out []field
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int, ns string)
	walk = func(t reflect.Type, index []int, ns string) {
		var embedded []reflect.StructField
		for i := range t.NumField() {
			sf := t.Field(i)
			name := keyName(sf)
			if name == "-" {
				continue
			}
			if name == "" {
				embedded = append(embedded, sf)
				continue
			}
			if !sf.IsExported() || seen[name] {
				continue
			}
			seen[name] = true
			def, hasDef := sf.Tag.Lookup("default")
			out = append(out, field{
				key:    name,
				ns:     ns + sf.Name,
				index:  append(append([]int(nil), index...), i),
				typ:    sf.Type,
				def:    def,
				hasDef: hasDef,
				secret: sf.Tag.Get("secret") == "true",
			})
		}
		for _, sf := range embedded {
			walk(sf.Type, append(append([]int(nil), index...), sf.Index...), ns+sf.Name+".")
		}
	}
	walk(t, nil, "")
	return out
}

// keyName is the key of a struct field: "-" to skip it, "" for an
// embedded struct whose fields are lifted into the outer one.
func keyName(sf reflect.StructField) string {
	tag, _, _ := strings.Cut(sf.Tag.Get("config"), ",")
	switch {
	case tag != "":
		return strings.ToLower(tag)
	case sf.Anonymous && sf.Type.Kind() == reflect.Struct && !isValue(sf.Type):
		return ""
	}
	return snake(sf.Name)
}

// snake turns a Go name into a key: StartTimeout → start_timeout,
// HTTPPort → http_port.
func snake(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// isValue reports whether values of t are written as one value, not a
// section, though t may be a struct: durations and text unmarshalers
// such as time.Time.
func isValue(t reflect.Type) bool {
	return t == durationType || reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// kindOf is the kind of the values of t, below any pointers.
func kindOf(t reflect.Type) reflect.Kind {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind()
}

// isSection reports whether t binds to a section of keys.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !isValue(t)
}

// secretIn reports whether the key reached from type t through sections is
// secret: a field on the way is tagged `secret:"true"`.
func secretIn(t reflect.Type, sections []string) bool {
	for _, s := range sections {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case isSection(t):
			f, ok := fieldByKey(t, s)
			if !ok {
				return false
			}
			if f.secret {
				return true
			}
			t = f.typ
		case t.Kind() == reflect.Map:
			t = t.Elem()
		default:
			return false
		}
	}
	return false
}

func fieldByKey(t reflect.Type, key string) (field, bool) {
	for _, f := range fieldsOf(t) {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// structTree turns a struct value into a nested map of keys: each field
// that is not zero, else its `default` tag.
func structTree(v reflect.Value) map[string]any {
	out := map[string]any{}
	for _, f := range fieldsOf(v.Type()) {
		fv := v.FieldByIndex(f.index)
		switch {
		case isSection(f.typ):
			if sub := structTree(fv); len(sub) > 0 {
				out[f.key] = sub
			}
		case !fv.IsZero():
			if p, ok := plain(fv); ok {
				out[f.key] = p
			}
		case f.hasDef:
			out[f.key] = f.def
		}
	}
	return out
}

// plain turns a Go value into what a parser would have produced, so that
// Print shows it as it would be written in a file.
func plain(v reflect.Value) (any, bool) {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String(), true
	}
	if v.Type().Implements(textMarshalerType) {
		text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(text), err == nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return plain(v.Elem())
	case reflect.Struct:
		return structTree(v), true
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return string(v.Bytes()), true
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			if p, ok := plain(v.Index(i)); ok {
				out = append(out, p)
			}
		}
		return out, true
	case reflect.Map:
		out := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			k, ok := plain(it.Key())
			p, ok2 := plain(it.Value())
			if text, isText := toText(k); ok && ok2 && isText {
				out[strings.ToLower(text)] = p
			}
		}
		return out, true
	}
	return v.Interface(), true
}
