package names

import "strings"

// Key folds a name to the form names are compared in: lower case, without
// underscores, hyphens or spaces.
func Key(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}
