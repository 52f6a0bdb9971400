package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// validate is shared: a validator caches what it learns of each struct
// type, and nothing changes it after this setup.
var validate = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Name fields by their keys, so error namespaces map back to keys.
	v.RegisterTagNameFunc(keyName)
	return v
})

// validate checks the `validate` tags of the struct in v and reports each
// failure at its key, skipping keys that already failed to decode.
func (b *binder) validate(v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	var failures validator.ValidationErrors
	if err := validate().Struct(v.Interface()); !errors.As(err, &failures) {
		return
	}
	failed := map[string]bool{}
	for _, p := range b.problems {
		failed[p.Key] = true
	}
	for _, fe := range failures {
		key, ok := b.keys[fe.Namespace()]
		if !ok || failed[key] {
			continue
		}
		o := b.origins[key]
		b.problems.add(&Problem{
			Key:    key,
			Value:  render(o.raw, o.secret),
			Source: o.source,
			Reason: validationReason(fe),
			Err:    fe,
		})
	}
}

// validationReason says what a failed tag wanted, in words for the common
// tags and as the tag itself for the rest.
func validationReason(fe validator.FieldError) string {
	p := fe.Param()
	unit := ""
	switch fe.Kind() {
	case reflect.String:
		unit = " characters"
	case reflect.Slice, reflect.Array, reflect.Map:
		unit = " items"
	}
	if p == "1" {
		unit = strings.TrimSuffix(unit, "s")
	}
	switch fe.Tag() {
	case "required", "required_if", "required_unless", "required_with", "required_without":
		return "a value is required"
	case "min", "gte":
		return fmt.Sprintf("want at least %s%s", p, unit)
	case "max", "lte":
		return fmt.Sprintf("want at most %s%s", p, unit)
	case "gt":
		return fmt.Sprintf("want more than %s%s", p, unit)
	case "lt":
		return fmt.Sprintf("want less than %s%s", p, unit)
	case "len":
		return fmt.Sprintf("want exactly %s%s", p, unit)
	case "oneof":
		return "want one of " + strings.Join(strings.Fields(p), ", ")
	case "email":
		return "want an email address"
	case "url", "http_url":
		return "want a URL"
	case "hostname", "hostname_rfc1123", "fqdn":
		return "want a host name"
	case "hostname_port":
		return "want host:port"
	case "ip", "ipv4", "ipv6":
		return "want an IP address"
	case "cidr":
		return "want a network in CIDR notation, such as 10.0.0.0/8"
	case "file":
		return "want the path of an existing file"
	case "dir":
		return "want the path of an existing directory"
	}
	tag := fe.Tag()
	if p != "" {
		tag += "=" + p
	}
	return fmt.Sprintf("want a value that passes %q", tag)
}

// unknownReason explains an unknown key, suggesting the closest known key
// when one is close enough to be a typo.
func unknownReason(key string, known []string) string {
	if s, ok := closest(key, known); ok {
		return fmt.Sprintf("unknown key; did you mean %q?", s)
	}
	if len(known) > 0 && len(known) <= 8 {
		return "unknown key; want one of " + strings.Join(slices.Sorted(slices.Values(known)), ", ")
	}
	return "unknown key"
}

// closest returns the candidate nearest to s by edit distance, if it is
// within what a typo explains: one edit for short words, two for longer.
func closest(s string, candidates []string) (string, bool) {
	limit := 1
	if len(s) >= 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range slices.Sorted(slices.Values(candidates)) {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// distance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so
// "prot" is one edit from "port".
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
