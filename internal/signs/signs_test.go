package signs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/internal/signs"
)

func TestSigns(t *testing.T) {
	var ready, alive int
	ctx := signs.WithAlive(signs.WithReady(context.Background(), func() { ready++ }), func() { alive++ })
	signs.Ready(ctx)
	signs.Alive(ctx)
	signs.Alive(ctx)
	assert.Equal(t, 1, ready)
	assert.Equal(t, 2, alive)

	signs.Ready(context.Background()) // no signal: nothing happens
	signs.Alive(context.Background())
}
