// Package fxparity holds the differential tests that keep a promise of
// hostfx: adding it to an fx program changes nothing fx does. Each test
// runs the same program twice, as plain fx and with hostfx (app.Module or
// app.New, sometimes with a few services added), and compares what fx
// reports: hook order, errors, exit codes, values, timeouts and the fxevent
// sequence, apart from hostfx's own documented additions (its constructors,
// invokes and hooks, all from package app).
//
// The package has no code of its own; it must not be imported.
package fxparity
