package config

import (
	"strings"
)

// DefaultEnvSeparator separates sections in variable names unless
// EnvSeparator says otherwise.
const DefaultEnvSeparator = "__"

// fileSuffix marks a variable whose value is the path of a file holding
// the real value, as container secrets are mounted.
const fileSuffix = "_FILE"

// EnvKey maps an environment variable name to a configuration key: the
// prefix is cut off, sep splits the rest into sections, and each section
// is lower-cased. With prefix "APP_" and sep "__", APP_SERVER__MAX_CONNS
// is server.max_conns.
//
// ok is false when name does not start with prefix, or the rest is empty,
// has an empty section or holds anything but ASCII letters, digits and
// underscores.
func EnvKey(prefix, sep, name string) (key string, ok bool) {
	rest, found := strings.CutPrefix(name, prefix)
	if !found || rest == "" || sep == "" || !validEnvName(rest) {
		return "", false
	}
	sections := strings.Split(rest, sep)
	for i, s := range sections {
		if s == "" {
			return "", false
		}
		sections[i] = strings.ToLower(s)
	}
	return strings.Join(sections, "."), true
}

// validEnvName reports whether s is a non-empty run of the characters
// that portable variable names are made of.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
