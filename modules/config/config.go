package config

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Config is the effective configuration: every source merged, each key
// remembering where its value came from. It is read-only once New returns
// and safe for concurrent use. The zero Config is empty.
type Config struct {
	tree      tree              // every source merged
	flat      map[string]any    // tree by flat key
	sources   map[string]string // flat key → where its value came from
	secrets   map[string]bool   // flat keys read from secret files
	profile   string
	services  map[string]ServiceSettings
	log       logLevel
	strict    bool
	printReq  bool
	validator Validator // checks `validate` tags; nil for the built-in rules

	mu      sync.Mutex
	schemas []schema // types bound or declared, for secrets and defaults
}

// schema is a type bound at a path.
type schema struct {
	path string
	typ  reflect.Type
}

// builder collects what the options ask for, then loads the sources.
type builder struct {
	loads    []func(*builder) *layer
	problems problems

	profile       string
	profileEnv    string
	profileSource string // what chose the profile, for messages
	dir           string
	sep           string
	allowUnknown  bool
	printFlag     bool
	printReq      bool
	schemas       []schema
	formats       []Format // given with Formats, JSON aside
	validator     Validator
}

// layer is what one source contributed.
type layer struct {
	tree    tree
	sources map[string]string // every flat key of k → where it came from
	secrets map[string]bool
}

// New loads the sources in the order given, later ones overriding earlier
// ones, and checks the services section. It reports every problem at once
// in an *Error.
func New(opts ...Option) (*Config, error) {
	b := &builder{sep: DefaultEnvSeparator}
	for _, o := range opts {
		if o != nil {
			o.apply(b)
		}
	}
	b.chooseProfile()
	var layers []*layer
	for _, load := range b.loads {
		if l := load(b); l != nil {
			layers = append(layers, l)
		}
	}
	c := &Config{
		tree:      tree{},
		sources:   map[string]string{},
		secrets:   map[string]bool{},
		profile:   b.profile,
		strict:    !b.allowUnknown,
		printReq:  b.printReq,
		schemas:   b.schemas,
		validator: b.validator,
	}
	for _, l := range layers {
		c.tree.merge(l.tree)
	}
	c.flat = c.tree.flat()
	// A key's source is the last layer that set it: merging dropped what
	// the later layers replaced.
	for key := range c.flat {
		for i := len(layers) - 1; i >= 0; i-- {
			if src, ok := layers[i].sources[key]; ok {
				c.sources[key] = src
				c.secrets[key] = layers[i].secrets[key]
				break
			}
		}
	}
	c.services = c.parseServices(&b.problems)
	c.log = c.parseLogLevel(&b.problems)
	if err := b.problems.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// chooseProfile settles the profile before any source is loaded.
func (b *builder) chooseProfile() {
	b.profileSource = fmt.Sprintf("config.Profile(%q)", b.profile)
	if b.profileEnv != "" {
		if v := os.Getenv(b.profileEnv); v != "" {
			b.profile, b.profileSource = v, "env "+b.profileEnv
		}
	}
	if b.profile != "" && !validProfile(b.profile) {
		b.problems.add(&Problem{
			Source: b.profileSource,
			Reason: fmt.Sprintf("profile %q: want letters, digits, '.', '_' and '-', not starting with '.'", b.profile),
		})
		b.profile = ""
	}
}

// validProfile keeps profile names to plain file-name parts, so a profile
// from the environment cannot point a file path elsewhere.
func validProfile(s string) bool {
	if s[0] == '.' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// Profile returns the profile in effect, or "" when none was chosen.
func (c *Config) Profile() string { return c.profile }

// Keys returns every key that some source sets, sorted.
func (c *Config) Keys() []string {
	return slices.Sorted(maps.Keys(c.flat))
}

// raw returns the value at path, nil when no source sets it; "" is the
// root.
func (c *Config) raw(path string) any {
	if c.tree == nil {
		return nil
	}
	return c.tree.get(path)
}

// sourceOf says where the value at key came from. For a section it names
// the source of its first key; for a list item, the list's source.
func (c *Config) sourceOf(key string) string {
	if src, ok := c.sources[key]; ok {
		return src
	}
	for k := key; k != ""; {
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
		if src, ok := c.sources[k]; ok {
			return src
		}
	}
	var first string
	for k := range c.sources {
		if (key == "" || strings.HasPrefix(k, key+".")) && (first == "" || k < first) {
			first = k
		}
	}
	return c.sources[first]
}

// declare records a type bound at path, for Print and secret redaction.
func (c *Config) declare(path string, t reflect.Type) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := schema{path: path, typ: t}
	if !slices.Contains(c.schemas, s) {
		c.schemas = append(c.schemas, s)
	}
}

// declared returns a snapshot of the declared types.
func (c *Config) declared() []schema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.schemas)
}

// secret reports whether the value at key must not be shown: it came from
// a secret file, or a declared type tags it, or a section holding it,
// `secret:"true"`.
func (c *Config) secret(key string) bool {
	if c.secrets[key] {
		return true
	}
	for _, s := range c.declared() {
		rel, ok := under(key, s.path)
		if ok && secretIn(s.typ, rel) {
			return true
		}
	}
	return false
}

// under returns key's sections below path, and whether key is under it.
func under(key, path string) ([]string, bool) {
	switch {
	case path == "":
		return strings.Split(key, "."), true
	case key == path:
		return nil, true
	case strings.HasPrefix(key, path+"."):
		return strings.Split(key[len(path)+1:], "."), true
	}
	return nil, false
}
