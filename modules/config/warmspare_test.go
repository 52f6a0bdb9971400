package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/config"
)

func TestServiceWarmSpare(t *testing.T) {
	c, err := config.New(config.Args([]string{"--services.worker.warm_spare=true"}))
	require.NoError(t, err)
	_, opts, sources := c.ServiceOptions("worker")
	assert.True(t, lifecycle.DefaultSettings().With(opts...).WarmSpare)
	assert.Equal(t, "flag --services.worker.warm_spare", sources["warm_spare"])

	c, err = config.New(config.Args([]string{"--services.worker.warm_spare=false"}))
	require.NoError(t, err)
	_, opts, _ = c.ServiceOptions("worker")
	assert.False(t, lifecycle.DefaultSettings().With(opts...).WarmSpare)
}
