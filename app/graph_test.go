package app_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// Registrations side by side share one fx.Provide and one fx.Invoke; the
// program's own invokes between them keep their places.
func TestServicesAreBuiltWhereTheyAreRegistered(t *testing.T) {
	j := &journal{}
	built := func(name string) func() *node[struct{}] {
		return func() *node[struct{}] { j.add(name); return &node[struct{}]{} }
	}
	newApp(t,
		app.Service("s1", built("s1"), modes.MainEventLoopAsync),
		app.Service("s2", built("s2"), modes.SeparateThread),
		fx.Invoke(func() { j.add("invoke") }),
		fx.Options(
			app.Service("s3", built("s3"), modes.SeparateThreadAsync),
			fx.Invoke(func() { j.add("inner invoke") }),
		),
		app.Service("s4", built("s4"), modes.MainEventLoopAsync),
	)
	assert.Equal(t, []string{"s1", "s2", "invoke", "s3", "inner invoke", "s4"}, j.list())
}
