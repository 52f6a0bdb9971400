package validate

import (
	"errors"
	"fmt"

	"github.com/go-playground/validator/v10"

	"github.com/hostfx/hostfx/modules/config"
)

// New returns a config.Validator that checks `validate` tags with a
// validator.Validate of its own, made with WithRequiredStructEnabled. Give
// it to config.New with config.Validation.
func New() config.Validator {
	return checker{v: validator.New(validator.WithRequiredStructEnabled())}
}

// checker adapts a validator.Validate to config.Validator. The Validate
// caches what it learns of each struct type, and nothing changes it after
// New, so one checker serves concurrent binds.
type checker struct{ v *validator.Validate }

// Validate checks the struct that s points to. Each failure is a
// validator.FieldError, which is a config.FieldError; a tag that
// validator cannot parse, which it reports by panicking, becomes an
// error.
func (c checker) Validate(s any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-playground/validator: %v", r)
		}
	}()
	err = c.v.Struct(s)
	var failures validator.ValidationErrors
	if !errors.As(err, &failures) {
		return err
	}
	errs := make([]error, len(failures))
	for i, fe := range failures {
		errs[i] = fe
	}
	return errors.Join(errs...)
}
