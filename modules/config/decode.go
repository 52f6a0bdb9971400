package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sourceDefaultTag is the source of values taken from `default` tags.
const sourceDefaultTag = "default tag"

// redacted stands in for secret values wherever they are shown.
const redacted = "[redacted]"

// What each kind of value wants, in problems.
const (
	wantInteger  = "want an integer"
	wantNumber   = "want a number"
	wantBool     = "want true or false"
	wantDuration = "want a duration such as 300ms, 30s or 1h30m"
	wantSection  = "want a section of keys"
	wantList     = "want a list, or items separated by commas"
	wantMap      = "want a section, or key=value pairs separated by commas"
	wantSingle   = "want a single value, not a section or a list"
)

// binder decodes a sub-tree into a Go value. It walks the value itself,
// rather than through a generic decoder, so every problem knows its key
// and source, and it goes on after a problem to find all of them.
type binder struct {
	c        *Config
	strict   bool
	problems problems
	origins  map[string]origin   // key → the value decoded there and its source
	keys     map[string]fieldKey // a field's path in Go names (see FieldError) → its key
}

// fieldKey is the key a field binds to, and the kind of its value.
type fieldKey struct {
	key  string
	kind reflect.Kind
}

// origin is the value decoded at a key and where it came from.
type origin struct {
	raw    any
	source string
	secret bool
}

func newBinder(c *Config) *binder {
	return &binder{c: c, strict: c.strict, origins: map[string]origin{}, keys: map[string]fieldKey{}}
}

// bind decodes raw, the value at key, into v, then validates v.
func (b *binder) bind(key string, raw any, v reflect.Value) {
	t := v.Type()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if raw == nil && isSection(t) {
		raw = map[string]any{} // an absent section still gets its defaults
	}
	b.decode(key, t.Name(), b.c.sourceOf(key), false, raw, v)
	if isSection(t) {
		b.validate(key, v)
	}
	slices.SortStableFunc(b.problems, func(x, y *Problem) int { return strings.Compare(x.Key, y.Key) })
}

// decode sets v from raw, the value at key. ns is the path of v in Go
// names, so validation errors map back to keys.
func (b *binder) decode(key, ns, src string, secret bool, raw any, v reflect.Value) {
	b.keys[ns] = fieldKey{key: key, kind: kindOf(v.Type())}
	b.origins[key] = origin{raw: raw, source: src, secret: secret}
	if raw == nil {
		return // null: leave the zero value
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		b.decode(key, ns, src, secret, raw, v.Elem())
		return
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		b.text(key, src, secret, raw, v)
		return
	case t == durationType:
		b.duration(key, src, secret, raw, v)
		return
	case reflect.TypeOf(raw).AssignableTo(t):
		v.Set(reflect.ValueOf(raw))
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := toText(raw)
		if !ok {
			b.fail(key, src, secret, raw, wantSingle, nil)
			return
		}
		v.SetString(s)
	case reflect.Bool:
		s, _ := toText(raw)
		x, err := parseBool(s)
		if err != nil {
			b.fail(key, src, secret, raw, wantBool, err)
			return
		}
		v.SetBool(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.integer(key, src, secret, raw, v)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.unsigned(key, src, secret, raw, v)
	case reflect.Float32, reflect.Float64:
		b.float(key, src, secret, raw, v)
	case reflect.Slice, reflect.Array:
		b.list(key, ns, src, secret, raw, v)
	case reflect.Map:
		b.mapping(key, ns, src, secret, raw, v)
	case reflect.Struct:
		b.structure(key, ns, src, secret, raw, v)
	default:
		b.fail(key, src, secret, raw, fmt.Sprintf("cannot bind a %v; use strings, numbers, bools, durations, lists, maps, structs or text unmarshalers", t), nil)
	}
}

// fail records a value that does not fit.
func (b *binder) fail(key, src string, secret bool, raw any, reason string, err error) {
	b.problems.add(&Problem{Key: key, Value: render(raw, secret), Source: src, Reason: reason, Err: err})
}

// list decodes a list, or a string of comma-separated items as the
// environment and flags give them.
func (b *binder) list(key, ns, src string, secret bool, raw any, v reflect.Value) {
	t := v.Type()
	if s, ok := raw.(string); ok && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		v.SetBytes([]byte(s))
		return
	}
	var items []any
	switch r := raw.(type) {
	case []any:
		items = r
	default:
		s, ok := toText(raw)
		if !ok {
			b.fail(key, src, secret, raw, wantList, nil)
			return
		}
		if strings.TrimSpace(s) != "" {
			for _, item := range strings.Split(s, ",") {
				items = append(items, strings.TrimSpace(item))
			}
		}
	}
	out := v
	if t.Kind() == reflect.Array {
		if len(items) != t.Len() {
			b.fail(key, src, secret, raw, fmt.Sprintf("want a list of %d items", t.Len()), nil)
			return
		}
	} else {
		out = reflect.MakeSlice(t, len(items), len(items))
	}
	for i, item := range items {
		b.decode(fmt.Sprintf("%s[%d]", key, i), fmt.Sprintf("%s[%d]", ns, i), src, secret, item, out.Index(i))
	}
	if t.Kind() == reflect.Slice {
		v.Set(out)
	}
}

// mapping decodes a section into a map, or a string of key=value pairs as
// the environment and flags give them.
func (b *binder) mapping(key, ns, src string, secret bool, raw any, v reflect.Value) {
	t := v.Type()
	var entries map[string]any
	switch r := raw.(type) {
	case map[string]any:
		entries = r
	case string:
		var ok bool
		if entries, ok = pairs(r); !ok {
			b.fail(key, src, secret, raw, wantMap, nil)
			return
		}
	default:
		b.fail(key, src, secret, raw, wantMap, nil)
		return
	}
	out := reflect.MakeMapWithSize(t, len(entries))
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		ek, ens := join(key, k), fmt.Sprintf("%s[%s]", ns, k)
		esrc := src
		if s, ok := b.c.sources[ek]; ok && src != sourceDefaultTag {
			esrc = s
		}
		before := len(b.problems)
		kv := reflect.New(t.Key()).Elem()
		b.decode(ek, ens, esrc, secret, k, kv)
		if len(b.problems) > before {
			continue
		}
		ev := reflect.New(t.Elem()).Elem()
		b.decode(ek, ens, esrc, secret, entries[k], ev)
		out.SetMapIndex(kv, ev)
	}
	v.Set(out)
}

// pairs splits "a=1, b=2". Keys are lower-cased, as keys everywhere are.
func pairs(s string) (map[string]any, bool) {
	out := map[string]any{}
	for _, p := range strings.Split(s, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, false
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, true
}

// structure decodes a section into a struct: each field from its key, or
// its `default` tag when the key is not set. Keys no field takes are
// reported unless unknown keys are allowed.
func (b *binder) structure(key, ns, src string, secret bool, raw any, v reflect.Value) {
	m, ok := raw.(map[string]any)
	if !ok {
		b.fail(key, src, secret, raw, wantSection, nil)
		return
	}
	fields := fieldsOf(v.Type())
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		known = append(known, f.key)
		fk, fns := join(key, f.key), ns+"."+f.ns
		fv := v.FieldByIndex(f.index)
		sec := secret || f.secret
		switch val := m[f.key]; {
		case val != nil:
			b.decode(fk, fns, b.c.sourceOf(fk), sec, val, fv)
		case f.hasDef:
			b.decode(fk, fns, sourceDefaultTag, sec, f.def, fv)
		case isSection(f.typ):
			b.decode(fk, fns, "", sec, map[string]any{}, fv)
		default:
			b.keys[fns] = fieldKey{key: fk, kind: kindOf(f.typ)}
			b.origins[fk] = origin{secret: sec}
		}
	}
	if !b.strict {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if slices.Contains(known, k) {
			continue
		}
		for _, uk := range unknownUnder(join(key, k), m[k]) {
			reason := "unknown key"
			if uk == join(key, k) {
				reason = unknownReason(k, known)
			}
			b.problems.add(&Problem{
				Key:    uk,
				Value:  render(b.c.raw(uk), b.c.secret(uk)),
				Source: b.c.sourceOf(uk),
				Reason: reason,
				Err:    ErrUnknownKey,
			})
		}
	}
}

// unknownUnder lists what to report of a key that no field takes, whose
// value is v: nothing for the framework's own keys, the keys beside them
// in a section that holds some, and else the key itself.
func unknownUnder(key string, v any) []string {
	if slices.Contains(frameworkKeys, key) {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok || !slices.ContainsFunc(frameworkKeys, func(fk string) bool { return strings.HasPrefix(fk, key+".") }) {
		return []string{key}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, unknownUnder(key+"."+k, m[k])...)
	}
	return out
}

// join appends a section to a key.
func join(key, section string) string {
	if key == "" {
		return section
	}
	return key + "." + section
}

// render shows a value as it would be written: strings quoted, lists as
// JSON, secrets redacted, and sections not at all.
func render(raw any, secret bool) string {
	switch raw.(type) {
	case nil, map[string]any:
		return ""
	}
	if secret {
		return redacted
	}
	switch r := raw.(type) {
	case string:
		return strconv.Quote(r)
	case time.Time:
		return r.Format(time.RFC3339Nano)
	case []any:
		if b, err := json.Marshal(r); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(raw)
}
