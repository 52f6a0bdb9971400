package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is wrapped by every Problem about a key that nothing
// binds, so callers can test for typos with errors.Is.
var ErrUnknownKey = errors.New("unknown key")

// Problem is one thing wrong with the configuration: a value that does not
// convert or validate, an unknown key, or a source that could not be read.
type Problem struct {
	// Key is the configuration key, such as "app.port"; empty when the
	// problem is with a whole source, such as a missing file.
	Key string
	// Value is the offending value as given, quoted if it is a string,
	// and "[redacted]" for secrets; empty when the key is not set or is
	// a section.
	Value string
	// Source says where the value came from: "config.yaml:12",
	// "env APP_PORT", "flag --app.port", "default tag"; empty when no
	// source sets the key.
	Source string
	// Reason says what is wrong and what would be accepted.
	Reason string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats the problem as `key = value (source): reason`.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Key == "" {
		b.WriteString(p.Source)
	} else {
		b.WriteString(p.Key)
		if p.Value != "" {
			b.WriteString(" = ")
			b.WriteString(p.Value)
		}
		src := p.Source
		if src == "" {
			src = "not set"
		}
		fmt.Fprintf(&b, " (%s)", src)
	}
	b.WriteString(": ")
	b.WriteString(p.Reason)
	return b.String()
}

// Unwrap returns the underlying cause.
func (p *Problem) Unwrap() error { return p.Err }

// Error reports every problem found while loading or binding, all at once.
// Get it with errors.As.
type Error struct {
	// Problems are in the order they were found: sources in the order
	// given, and the keys of each binding in sorted order.
	Problems []*Problem
}

// Error lists the problems, one a line when there are several.
func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, so errors.Is and errors.As look into each.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects Problems and turns them into an *Error.
type problems []*Problem

func (ps *problems) add(p *Problem) { *ps = append(*ps, p) }

// err returns nil when there are no problems, so callers can return it
// as it is.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Problems: ps}
}
