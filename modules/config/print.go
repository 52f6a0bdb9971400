package config

import (
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"
)

// Entry is one key of the effective configuration.
type Entry struct {
	// Key is the full key, such as "app.port".
	Key string
	// Value is the value as written in a file, strings quoted;
	// "[redacted]" for secrets.
	Value string
	// Source says where the value came from, such as "config.yaml:3",
	// "env APP_PORT" or "default tag".
	Source string
	// Secret is true when Value is redacted.
	Secret bool
}

// Entries returns every key set by a source, and every `default` tag of
// a bound or declared type whose key no source sets, sorted by key.
func (c *Config) Entries() []Entry {
	byKey := map[string]Entry{}
	for key, v := range c.flat {
		byKey[key] = c.entry(key, v, c.sources[key])
	}
	for _, s := range c.declared() {
		for _, d := range tagDefaults(s) {
			if _, seen := byKey[d.key]; !seen && !c.covered(d.key) {
				byKey[d.key] = c.entry(d.key, d.value, sourceDefaultTag)
			}
		}
	}
	out := make([]Entry, 0, len(byKey))
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[key])
	}
	return out
}

func (c *Config) entry(key string, v any, src string) Entry {
	secret := c.secret(key)
	value := render(v, secret)
	if _, ok := v.(map[string]any); ok {
		value = "{}" // an empty section
	}
	return Entry{Key: key, Value: value, Source: src, Secret: secret}
}

// covered reports whether a source sets key or a section or value above
// it, so a default tag below it does not apply.
func (c *Config) covered(key string) bool {
	for k := key; ; {
		if _, ok := c.sources[k]; ok {
			return true
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return false
		}
		k = k[:i]
	}
}

type tagDefault struct {
	key   string
	value any
}

// tagDefaults lists the `default` tags of a declared type, by key.
func tagDefaults(s schema) []tagDefault {
	var out []tagDefault
	var walk func(key string, t reflect.Type)
	walk = func(key string, t reflect.Type) {
		for _, f := range fieldsOf(t) {
			fk := join(key, f.key)
			switch {
			case f.hasDef:
				out = append(out, tagDefault{fk, f.def})
			case isSection(f.typ):
				walk(fk, f.typ)
			}
		}
	}
	t := s.typ
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isSection(t) {
		walk(s.path, t)
	}
	return out
}

// Lookup returns the entry of one key, as Entries would list it.
func (c *Config) Lookup(key string) (Entry, bool) {
	key = strings.ToLower(key)
	for _, e := range c.Entries() {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// Print writes the effective configuration, one key a line with its value
// and source, sorted by key, with secrets redacted.
func (c *Config) Print(w io.Writer) error {
	entries := c.Entries()
	keys, values := 0, 0 // the widths of the columns, in characters
	for _, e := range entries {
		keys = max(keys, utf8.RuneCountInString(e.Key))
		values = max(values, utf8.RuneCountInString(e.Value))
	}
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%-*s  = %-*s  # %s\n", keys, e.Key, values, e.Value, e.Source)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return nil
}

// MarshalLogObject logs the effective configuration as key: value fields,
// secrets redacted, so zap.Object("config", c) is safe.
func (c *Config) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, e := range c.Entries() {
		enc.AddString(e.Key, e.Value)
	}
	return nil
}

// PrintRequested reports whether the command line asked for
// --print-config; see PrintConfigFlag.
func (c *Config) PrintRequested() bool { return c.printReq }

// ErrPrinted is what HandlePrintFlag returns once it has printed the
// configuration: the program has done what --print-config asked and
// should end, with exit status 0. App.Run ends so, without logging a
// failure, when the app's build fails with it, as Module and Supply make
// it do.
var ErrPrinted error = printed{}

type printed struct{}

func (printed) Error() string { return "config: printed the configuration, as --print-config asked" }

// ExitCode is the exit status a program that stops on this error ends
// with: 0, since nothing failed.
func (printed) ExitCode() int { return 0 }

// HandlePrintFlag prints the configuration to standard output and returns
// ErrPrinted when the command line asked for --print-config; otherwise it
// does nothing and returns nil. Module and Supply call it once the
// bindings are checked; call it yourself without fx, after binding, so
// Print knows your secrets, and end the program when it returns an error.
func (c *Config) HandlePrintFlag() error {
	if !c.PrintRequested() {
		return nil
	}
	if err := c.Print(os.Stdout); err != nil {
		return err
	}
	return ErrPrinted
}
