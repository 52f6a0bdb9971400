package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// A Validator checks the `validate:"..."` tags of a struct that Bind has
// filled, in place of the built-in rules (see Validation). The package
// validate below this one returns one backed by go-playground/validator.
type Validator interface {
	// Validate checks the struct that v points to. It returns nil when
	// every tag passes; else each failure is a FieldError, either the
	// error itself or one it wraps with Unwrap() []error, as errors.Join
	// makes. Any other error is reported as it is, at the section.
	Validate(v any) error
}

// A FieldError is a field that failed one rule of its `validate` tag.
// go-playground/validator's FieldError is one.
type FieldError interface {
	error
	// StructNamespace is the field's path in Go names, from the name of
	// the struct's type: Server.Limits.Conns, Server.Tags[0] or
	// Server.Labels[env].
	StructNamespace() string
	// Tag is the rule that failed, such as "min".
	Tag() string
	// Param is the rule's parameter, such as "1", or "" if it has none.
	Param() string
}

// Validation checks `validate:"..."` tags with v instead of the built-in
// rules, which are required, omitempty, min, max, len, gt, gte, lt, lte
// and oneof. A tag with any other rule is reported as an error until a
// Validator that knows it is given:
//
//	config.New(
//		config.Validation(validate.New()), // all of go-playground/validator's rules
//		config.File("config.json"),
//	)
func Validation(v Validator) Option { return validationOption{v} }

type validationOption struct{ v Validator }

func (o validationOption) apply(b *builder) {
	if o.v == nil {
		b.problems.add(&Problem{Source: o.String(), Reason: "want a Validator, such as validate.New()"})
		return
	}
	b.validator = o.v
}

func (o validationOption) String() string { return fmt.Sprintf("config.Validation(%T)", o.v) }

// validate checks the `validate` tags of the struct in v, bound at key,
// and reports each failure at its key, skipping keys that already failed
// to decode.
func (b *binder) validate(key string, v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	var err error
	if b.c.validator != nil {
		target := v.Interface()
		if v.CanAddr() {
			target = v.Addr().Interface()
		}
		err = b.c.validator.Validate(target)
	} else {
		err = checkRules(v)
	}
	if err == nil {
		return
	}
	failed := map[string]bool{}
	for _, p := range b.problems {
		failed[p.Key] = true
	}
	for _, e := range failures(err) {
		var fe FieldError
		if !errors.As(e, &fe) {
			b.problems.add(&Problem{Key: key, Source: fmt.Sprintf("validate tags of %v", v.Type()), Reason: e.Error(), Err: e})
			continue
		}
		at, ok := b.keys[fe.StructNamespace()]
		if !ok || failed[at.key] {
			continue
		}
		var re *ruleError
		if errors.As(e, &re) && re.misuse != "" {
			b.problems.add(&Problem{Key: at.key, Source: "validate tag", Reason: re.misuse, Err: e})
			continue
		}
		o := b.origins[at.key]
		b.problems.add(&Problem{
			Key:    at.key,
			Value:  render(o.raw, o.secret),
			Source: o.source,
			Reason: validationReason(fe.Tag(), fe.Param(), at.kind),
			Err:    e,
		})
	}
}

// failures lists the errors that err is made of: err itself, or those it
// joins.
func failures(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, failures(e)...)
	}
	return out
}

// validationReason says what a failed rule wanted, in words for the common
// rules and as the rule itself for the rest. kind is the kind of the
// field's value.
func validationReason(tag, p string, kind reflect.Kind) string {
	unit := ""
	switch kind {
	case reflect.String:
		unit = " characters"
	case reflect.Slice, reflect.Array, reflect.Map:
		unit = " items"
	}
	if p == "1" {
		unit = strings.TrimSuffix(unit, "s")
	}
	switch tag {
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
	if p != "" {
		tag += "=" + p
	}
	return fmt.Sprintf("want a value that passes %q", tag)
}
