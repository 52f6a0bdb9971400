package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hostfx/hostfx/internal/proc"
)

// Checks of the app's registrations as a whole, made when the host is built.

// invalid joins the errors of bad registrations, in registration order.
func invalid(decls []*spec) error {
	slices.SortFunc(decls, func(a, b *spec) int { return int(a.seq - b.seq) })
	var errs []error
	for _, d := range decls {
		if d.err != nil {
			errs = append(errs, d.err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &invalidServices{errors.Join(errs...)}
}

// unknownSections reports configuration sections for services that no
// app.Service registers, most likely typos, which would otherwise set
// nothing without a word. A child registers only its own service, so only
// the app checks.
func unknownSections(config ServiceConfig, decls []*spec) error {
	if config == nil || proc.Current() != nil {
		return nil
	}
	known := make([]string, 0, len(decls))
	for _, d := range decls {
		known = append(known, strings.ToLower(d.decl.name))
	}
	var errs []error
	for _, name := range config.Services() {
		if slices.Contains(known, strings.ToLower(name)) {
			continue
		}
		err := fmt.Errorf("%w: configuration section services.%s: no service is called %q", ErrInvalidService, name, name)
		if len(known) > 0 {
			err = fmt.Errorf("%w; the services are %s", err, strings.Join(known, ", "))
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return &invalidServices{errors.Join(errs...)}
}

// invalidServices lets App.Err strip fx's framing from registration errors,
// so the user reads their own mistakes first.
type invalidServices struct{ error }

func (e *invalidServices) Unwrap() error { return e.error }
