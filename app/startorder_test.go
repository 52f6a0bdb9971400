package app_test

import (
	"fmt"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modes"
)

// graphSize services form a chain with branches and joins, each taking
// the services it depends on by name, spread over the three in-process
// modes and registered out of dependency order.
const graphSize = 100

// graphParents names each service's direct dependencies: the one before
// it, or every seventh the one at half its index, and every tenth from the
// fifth joins the one at a third of its index too.
var graphParents = func() map[string][]string {
	parents := map[string][]string{"n0": nil}
	for i := 1; i < graphSize; i++ {
		first := i - 1
		if i%7 == 0 {
			first = i / 2
		}
		p := []string{fmt.Sprint("n", first)}
		if i%10 == 5 && i/3 != first {
			p = append(p, fmt.Sprint("n", i/3))
		}
		parents[fmt.Sprint("n", i)] = p
	}
	return parents
}()

func graphServices() fx.Option {
	inModes := []modes.ExecutionMode{modes.MainEventLoopAsync, modes.SeparateThread, modes.SeparateThreadAsync}
	opts := make([]fx.Option, 0, graphSize)
	for k := range graphSize {
		i := k * 37 % graphSize // 37 is prime to 100: every index once
		name := fmt.Sprint("n", i)
		var tags []string
		for _, p := range graphParents[name] {
			tags = append(tags, fmt.Sprintf("name:%q", p))
		}
		var ctor any
		switch len(tags) {
		case 0:
			ctor = leaf[struct{}]
		case 1:
			ctor = fx.Annotate(child[struct{}, struct{}], fx.ParamTags(tags...))
		default:
			ctor = fx.Annotate(join[struct{}, struct{}, struct{}], fx.ParamTags(tags...))
		}
		opts = append(opts, app.Service(name, ctor, inModes[i%len(inModes)]))
	}
	return fx.Options(opts...)
}
