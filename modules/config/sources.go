package config

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// These apply methods live here, beside the loaders they queue.

func (s fileSpec) apply(b *builder) {
	b.loads = append(b.loads, func(b *builder) *layer { return b.file(s) })
}

func (o defaultsOption) apply(b *builder) {
	b.loads = append(b.loads, func(b *builder) *layer { return b.defaults(o) })
}

func (o envOption) apply(b *builder) {
	if o == "" {
		b.problems.add(&Problem{Source: o.String(), Reason: `want a prefix, such as "APP_"; without one every variable of the process would be a key`})
		return
	}
	b.loads = append(b.loads, func(b *builder) *layer { return b.env(envPrefix(string(o))) })
}

func (o flagsOption) apply(b *builder) {
	b.loads = append(b.loads, func(b *builder) *layer { return b.flags(o) })
}

func (o argsOption) apply(b *builder) {
	b.loads = append(b.loads, func(b *builder) *layer { return b.args(o) })
}

// newLayer wraps a nested map whose keys are already lower-cased.
func newLayer(t tree, sourceOf func(key string) string) *layer {
	l := &layer{tree: t, sources: map[string]string{}, secrets: map[string]bool{}}
	for key := range t.flat() {
		l.sources[key] = sourceOf(key)
	}
	return l
}

// file loads a configuration or .env file.
func (b *builder) file(s fileSpec) *layer {
	path := s.path
	if s.profiled {
		if !strings.Contains(path, "{profile}") {
			b.problems.add(&Problem{Source: fmt.Sprintf("config.ProfileFile(%q)", path), Reason: `want a template holding "{profile}", such as "config.{profile}.yaml"`})
			return nil
		}
		if b.profile == "" {
			return nil
		}
		path = strings.ReplaceAll(path, "{profile}", b.profile)
	}
	if b.dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(b.dir, path)
	}
	f := dotEnvFormat
	if !s.dotenv {
		var err error
		if f, err = b.formatFor(path); err != nil {
			b.problems.add(&Problem{Source: path, Reason: err.Error()})
			return nil
		}
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && s.optional:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		b.problems.add(&Problem{Source: path, Reason: "file not found; create it, or wrap it in config.Optional if it may be absent", Err: err})
		return nil
	case err != nil:
		b.problems.add(&Problem{Source: path, Reason: "want a readable file: " + err.Error(), Err: err})
		return nil
	}
	m, err := f.Parse(data)
	if err != nil {
		b.problems.add(&Problem{Source: path, Reason: fmt.Sprintf("want valid %s: %v", f.Name, err), Err: err})
		return nil
	}
	var lines map[string]int
	if f.Lines != nil {
		lines = f.Lines(data)
	}
	at := func(key string) string {
		if n := lines[key]; n > 0 {
			return path + ":" + strconv.Itoa(n)
		}
		return path
	}
	if s.dotenv {
		vars := map[string]envVar{}
		for name, v := range m {
			if strings.HasPrefix(name, s.prefix) {
				vars[name] = envVar{name: name, value: fmt.Sprint(v), at: at(name) + " " + name}
			}
		}
		return b.envVars(s.prefix, vars)
	}
	stringKeys(m)
	return newLayer(b.lower(m, "", at), at)
}

// lower lower-cases the keys of a parsed file, since keys are
// case-insensitive, and reports keys the file sets twice that way.
func (b *builder) lower(m map[string]any, prefix string, at func(string) string) map[string]any {
	out := make(map[string]any, len(m))
	written := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		lk := strings.ToLower(k)
		key := prefix + lk
		if first, dup := written[lk]; dup {
			b.problems.add(&Problem{Key: key, Source: at(key), Reason: fmt.Sprintf("set twice, as %q and %q; keys are case-insensitive", first, k)})
			continue
		}
		written[lk] = k
		out[lk] = b.lowerValue(m[k], key, at)
	}
	return out
}

func (b *builder) lowerValue(v any, key string, at func(string) string) any {
	switch v := v.(type) {
	case map[string]any:
		return b.lower(v, key+".", at)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = b.lowerValue(item, fmt.Sprintf("%s[%d]", key, i), at)
		}
		return out
	}
	return v
}

// envVar is one variable from the environment or a .env file.
type envVar struct {
	name, value string
	at          string // where it was set: "env NAME" or ".env:3 NAME"
}

// env loads the process's variables that start with prefix.
func (b *builder) env(prefix string) *layer {
	vars := map[string]envVar{}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if _, dup := vars[name]; !dup && strings.HasPrefix(name, prefix) { // the first, as os.Getenv reads it
			vars[name] = envVar{name: name, value: value, at: "env " + name}
		}
	}
	return b.envVars(prefix, vars)
}

// envVars maps variables, by name, to keys and reads the files that
// NAME_FILE variables point to.
func (b *builder) envVars(prefix string, vars map[string]envVar) *layer {
	var entries []entry
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v := vars[name]
		if v.name == b.profileEnv {
			continue
		}
		if base, ok := strings.CutSuffix(v.name, fileSuffix); ok {
			if key, ok := EnvKey(prefix, b.sep, base); ok {
				data, err := os.ReadFile(v.value)
				if err != nil {
					b.problems.add(&Problem{Key: key, Value: strconv.Quote(v.value), Source: v.at, Reason: "want a readable secret file: " + err.Error(), Err: err})
					continue
				}
				val := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
				entries = append(entries, entry{key: key, value: val, at: v.at + "=" + v.value, secret: true})
				continue
			}
		}
		key, ok := EnvKey(prefix, b.sep, v.name)
		if !ok {
			b.problems.add(&Problem{Source: v.at, Reason: fmt.Sprintf("not a key: want sections of letters, digits and '_' after %q, separated by %q", prefix, b.sep)})
			continue
		}
		entries = append(entries, entry{key: key, value: v.value, at: v.at})
	}
	return b.flat(entries)
}

// entry is one key of a source that names keys in full: variables and
// flags.
type entry struct {
	key    string
	value  any
	at     string
	secret bool
}

// flat builds a layer from full keys, reporting keys set twice and keys
// that are both a value and a section.
func (b *builder) flat(entries []entry) *layer {
	byKey := map[string]entry{}
	for _, e := range entries {
		if !validKey(e.key) {
			b.problems.add(&Problem{Source: e.at, Reason: fmt.Sprintf("%q is not a key: want sections separated by single dots", e.key)})
			continue
		}
		if first, dup := byKey[e.key]; dup {
			b.problems.add(&Problem{Key: e.key, Source: e.at, Reason: fmt.Sprintf("also set by %s; keep one", first.at)})
			continue
		}
		byKey[e.key] = e
	}
	flat := map[string]any{}
	l := &layer{sources: map[string]string{}, secrets: map[string]bool{}}
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		e := byKey[key]
		if parent, clash := sectionClash(byKey, key); clash {
			b.problems.add(&Problem{Key: key, Source: e.at, Reason: fmt.Sprintf("%s sets %s, which holds this key; a key is a value or a section, not both", byKey[parent].at, parent)})
			continue
		}
		flat[key] = e.value
		l.sources[key] = e.at
		l.secrets[key] = e.secret
	}
	l.tree = unflatten(flat)
	return l
}

// sectionClash finds a key that is an ancestor of key.
func sectionClash(keys map[string]entry, key string) (string, bool) {
	for i := strings.LastIndexByte(key, '.'); i > 0; i = strings.LastIndexByte(key[:i], '.') {
		if _, ok := keys[key[:i]]; ok {
			return key[:i], true
		}
	}
	return "", false
}

// validKey reports whether key is non-empty sections joined by dots.
func validKey(key string) bool {
	return key != "" && !slices.Contains(strings.Split(key, "."), "")
}

// flags loads the flags set on the command line of a parsed flag set.
func (b *builder) flags(o flagsOption) *layer {
	if o.fs == nil {
		b.problems.add(&Problem{Source: o.String(), Reason: "want a flag set"})
		return nil
	}
	if !o.fs.Parsed() {
		b.problems.add(&Problem{Source: o.String(), Reason: "the flag set is not parsed; call its Parse first"})
		return nil
	}
	var entries []entry
	o.fs.Visit(func(f *flag.Flag) {
		if b.printFlag && f.Name == PrintFlag {
			b.printReq, _ = strconv.ParseBool(f.Value.String())
			return
		}
		entries = append(entries, entry{key: strings.ToLower(f.Name), value: f.Value.String(), at: "flag -" + f.Name})
	})
	return b.flat(entries)
}

// args loads --key=value arguments.
func (b *builder) args(args []string) *layer {
	var entries []entry
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, ok := strings.CutPrefix(a, "-")
		if !ok || name == "" || name == "-" {
			b.problems.add(&Problem{Source: "args", Reason: fmt.Sprintf("%q is not a flag: want --key=value; put other arguments after --", a)})
			continue
		}
		name = strings.TrimPrefix(name, "-")
		name, value, hasValue := strings.Cut(name, "=")
		if b.printFlag && name == PrintFlag {
			b.printReq = !hasValue
			if hasValue {
				b.printReq, _ = strconv.ParseBool(value)
			}
			continue
		}
		if !hasValue {
			value = "true"
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				value = args[i+1]
				i++
			}
		}
		entries = append(entries, entry{key: strings.ToLower(name), value: value, at: "flag --" + name})
	}
	return b.flat(entries)
}

// defaults loads a value given with Defaults and declares its type.
func (b *builder) defaults(o defaultsOption) *layer {
	v := reflect.ValueOf(o.value)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		b.problems.add(&Problem{Source: o.String(), Reason: "want a struct or a pointer to one"})
		return nil
	}
	path := strings.ToLower(o.path)
	b.schemas = append(b.schemas, schema{path: path, typ: v.Type()})
	tree := structTree(v)
	if path != "" {
		parts := strings.Split(path, ".")
		for i := len(parts) - 1; i >= 0; i-- {
			tree = map[string]any{parts[i]: tree}
		}
	}
	return newLayer(tree, func(string) string { return "defaults" })
}
