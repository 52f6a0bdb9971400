package config

import (
	"reflect"
	"strings"
)

// The keys the package binds itself: the section of per-service settings
// and the level of the app's logger. Binding a section that holds them
// leaves them alone.
const (
	servicesKey = "services"
	logLevelKey = "log.level"
)

var frameworkKeys = []string{servicesKey, logLevelKey}

// Bind decodes the section at path ("" for the root) into a T and
// validates it. Strings convert to the field's type; keys that are not
// set take the field's `default:"..."` tag; `validate:"..."` tags are
// checked; keys no field takes are errors unless AllowUnknownKeys was
// given. Every problem is reported at once in an *Error.
//
// Bind also tells c about T, so Print redacts T's secret fields and shows
// its defaults.
func Bind[T any](c *Config, path string) (T, error) {
	var out T
	err := c.bind(path, reflect.ValueOf(&out).Elem())
	return out, err
}

func (c *Config) bind(path string, v reflect.Value) error {
	path = strings.ToLower(path)
	c.declare(path, v.Type())
	b := newBinder(c)
	b.bind(path, c.raw(path), v)
	return b.problems.err()
}
