// Package validate checks the `validate:"..."` tags of the structs that
// config.Bind fills with go-playground/validator, for all of its rules:
// email, url, hostname, ip, dive, required_if and the rest. Without it
// the config package checks a few rules of its own (required, omitempty,
// min, max, len, gt, gte, lt, lte and oneof), and a program that does not
// import this package links no validator:
//
//	config.New(
//		config.Validation(validate.New()),
//		config.File("config.json"),
//	)
//
// go-playground/validator's validateFn rule calls a method by name, which
// makes the Go linker keep every exported method of every type in the
// program: about 2 MB. A program that does not use validateFn saves that
// by building with -tags validator_novalidatefn.
package validate
