package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
)

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name    string
		give    string // config.yaml
		opts    []config.Option
		wantErr string
	}{
		{
			name:    "typo",
			give:    "app:\n  name: demo\n  prot: 80\n",
			wantErr: `config: app.prot = 80 (config.yaml:3): unknown key; did you mean "port"?`,
		},
		{
			name:    "typo in a longer key",
			give:    "app:\n  name: demo\n  timout: 1s\n",
			wantErr: `config: app.timout = "1s" (config.yaml:3): unknown key; did you mean "timeout"?`,
		},
		{
			name:    "nothing close",
			give:    "app:\n  name: demo\n  colour: red\n",
			wantErr: `config: app.colour = "red" (config.yaml:3): unknown key; want one of name, password, port, timeout`,
		},
		{
			name:    "a whole unknown section",
			give:    "app:\n  name: demo\n  db:\n    host: x\n",
			wantErr: `config: app.db (config.yaml:4): unknown key; want one of name, password, port, timeout`,
		},
		{
			name: "allowed",
			give: "app:\n  name: demo\n  prot: 80\n",
			opts: []config.Option{config.AllowUnknownKeys()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"config.yaml": tt.give})
			c, err := config.New(append(tt.opts, formats, config.File("config.yaml"))...)
			require.NoError(t, err)
			_, err = config.Bind[App](c, "app")
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tt.wantErr)
			assert.ErrorIs(t, err, config.ErrUnknownKey)
		})
	}
}
