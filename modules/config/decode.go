package config

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
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

// text decodes through encoding.TextUnmarshaler, such as
// modes.ExecutionMode, Size or time.Time.
func (b *binder) text(key, src string, secret bool, raw any, v reflect.Value) {
	s, ok := toText(raw)
	if !ok {
		b.fail(key, src, secret, raw, wantSingle, nil)
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		reason := err.Error()
		if !saysWhatItWants(err) {
			reason = fmt.Sprintf("want a valid %v: %v", v.Type(), err)
		}
		b.fail(key, src, secret, raw, reason, err)
	}
}

// saysWhatItWants reports whether err comes from one of hostfx's own text
// types, whose errors already name the value and what would be accepted.
// Errors of other types, such as time.Time's, get the type they were
// decoding to and a "want" in front.
func saysWhatItWants(err error) bool {
	var se *sizeError
	return errors.As(err, &se) ||
		errors.Is(err, modes.ErrUnknownMode) ||
		errors.Is(err, lifecycle.ErrUnknownStrategy) ||
		errors.Is(err, lifecycle.ErrUnknownPolicy)
}

func (b *binder) duration(key, src string, secret bool, raw any, v reflect.Value) {
	if s, ok := raw.(string); ok {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			b.fail(key, src, secret, raw, wantDuration, err)
			return
		}
		v.SetInt(int64(d))
		return
	}
	// A bare number has no unit; only zero means the same in every unit.
	if rv := reflect.ValueOf(raw); (rv.CanInt() || rv.CanUint() || rv.CanFloat()) && rv.IsZero() {
		v.SetInt(0)
		return
	}
	b.fail(key, src, secret, raw, wantDuration, nil)
}

func (b *binder) integer(key, src string, secret bool, raw any, v reflect.Value) {
	bits := v.Type().Bits()
	lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	outOfRange := fmt.Sprintf("want an integer from %d to %d", lo, hi)
	var n int64
	switch rv := reflect.ValueOf(raw); {
	case rv.CanInt():
		n = rv.Int()
	case rv.CanUint():
		if rv.Uint() > math.MaxInt64 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = int64(rv.Uint())
	case rv.CanFloat():
		f := rv.Float()
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			b.fail(key, src, secret, raw, wantInteger, nil)
			return
		}
		if f < math.MinInt64 || f >= math.MaxInt64 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = int64(f)
	default:
		s, _ := toText(raw)
		s = strings.TrimSpace(s)
		var err error
		if n, err = strconv.ParseInt(s, intBase(s), 64); err != nil {
			reason := wantInteger
			if errors.Is(err, strconv.ErrRange) {
				reason = outOfRange
			}
			b.fail(key, src, secret, raw, reason, err)
			return
		}
	}
	if v.OverflowInt(n) {
		b.fail(key, src, secret, raw, outOfRange, nil)
		return
	}
	v.SetInt(n)
}

func (b *binder) unsigned(key, src string, secret bool, raw any, v reflect.Value) {
	hi := uint64(math.MaxUint64) >> (64 - v.Type().Bits())
	outOfRange := fmt.Sprintf("want a whole number from 0 to %d", hi)
	var n uint64
	switch rv := reflect.ValueOf(raw); {
	case rv.CanUint():
		n = rv.Uint()
	case rv.CanInt():
		if rv.Int() < 0 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = uint64(rv.Int())
	case rv.CanFloat():
		f := rv.Float()
		if f != math.Trunc(f) || f < 0 || f >= math.MaxUint64 {
			b.fail(key, src, secret, raw, outOfRange, nil)
			return
		}
		n = uint64(f)
	default:
		s, _ := toText(raw)
		s = strings.TrimSpace(s)
		var err error
		if n, err = strconv.ParseUint(s, intBase(s), 64); err != nil {
			b.fail(key, src, secret, raw, outOfRange, err)
			return
		}
	}
	if v.OverflowUint(n) {
		b.fail(key, src, secret, raw, outOfRange, nil)
		return
	}
	v.SetUint(n)
}

func (b *binder) float(key, src string, secret bool, raw any, v reflect.Value) {
	var f float64
	switch rv := reflect.ValueOf(raw); {
	case rv.CanFloat():
		f = rv.Float()
	case rv.CanInt():
		f = float64(rv.Int())
	case rv.CanUint():
		f = float64(rv.Uint())
	default:
		s, _ := toText(raw)
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			b.fail(key, src, secret, raw, wantNumber, err)
			return
		}
	}
	if v.OverflowFloat(f) {
		b.fail(key, src, secret, raw, fmt.Sprintf("want a number that fits in %v", v.Type()), nil)
		return
	}
	v.SetFloat(f)
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

// intBase reads decimal unless the number says otherwise, so "010" is
// ten, not eight.
func intBase(s string) int {
	u := strings.TrimLeft(s, "+-")
	if len(u) > 1 && u[0] == '0' && strings.ContainsRune("xXoObB", rune(u[1])) {
		return 0
	}
	return 10
}

// parseBool takes what strconv.ParseBool takes, and yes/no/on/off, which
// INI files and shells use.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "on":
		return true, nil
	case "no", "off":
		return false, nil
	}
	return strconv.ParseBool(strings.TrimSpace(s))
}

// toText writes a scalar as text; ok is false for sections and lists.
func toText(raw any) (string, bool) {
	switch r := raw.(type) {
	case string:
		return r, true
	case bool:
		return strconv.FormatBool(r), true
	case time.Time:
		return r.Format(time.RFC3339Nano), true
	case []byte:
		return string(r), true
	case float32:
		return strconv.FormatFloat(float64(r), 'f', -1, 32), true
	}
	switch rv := reflect.ValueOf(raw); {
	case rv.CanInt():
		return strconv.FormatInt(rv.Int(), 10), true
	case rv.CanUint():
		return strconv.FormatUint(rv.Uint(), 10), true
	case rv.CanFloat():
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64), true
	case rv.Kind() == reflect.String:
		return rv.String(), true
	}
	return "", false
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
