package config

import (
	"fmt"
	"strings"
)

// tree is a nested map of keys, each section a map of its own, as the
// parsers give them: {"server": {"port": 8080}}. A layer's tree and the
// merged tree are not changed once built.
type tree map[string]any

// unflatten turns keys joined by dots into a tree: "server.port" is port
// in the section server.
func unflatten(flat map[string]any) tree {
	t := tree{}
	for key, v := range flat {
		parts := strings.Split(key, ".")
		m := t
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v
	}
	return t
}

// merge sets what src sets in t: sections merge key by key, and any other
// value replaces what t had at its key. t shares no map with src after.
func (t tree) merge(src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if tm, ok := t[k].(map[string]any); ok {
				tree(tm).merge(sm)
				continue
			}
			tm := tree{}
			tm.merge(sm)
			t[k] = map[string]any(tm)
			continue
		}
		t[k] = v
	}
}

// flat lists the values of t by their keys joined by dots. A section is
// listed only when it is empty; lists are values.
func (t tree) flat() map[string]any {
	out := map[string]any{}
	var walk func(m map[string]any, prefix string)
	walk = func(m map[string]any, prefix string) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(sub, prefix+k+".")
				continue
			}
			out[prefix+k] = v
		}
	}
	walk(t, "")
	return out
}

// get returns a copy of the value at path, nil when there is none; ""
// is the whole tree. Callers may keep and change what it returns.
func (t tree) get(path string) any {
	var v any = map[string]any(t)
	if path != "" {
		for _, p := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			if v, ok = m[p]; !ok {
				return nil
			}
		}
	}
	return deepCopy(v)
}

// deepCopy copies the sections and lists in v.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// stringKeys turns the map[any]any sections that some parsers give into
// map[string]any, wherever they are in v.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = stringKeys(x)
		}
		return out
	case map[string]any:
		for k, x := range v {
			v[k] = stringKeys(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = stringKeys(x)
		}
		return v
	}
	return v
}
