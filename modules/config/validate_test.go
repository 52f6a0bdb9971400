package config_test

import (
	"errors"
	"testing"

	"github.com/go-playground/validator/v10"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
)

type Server struct {
	Host   string   `validate:"required,hostname"`
	Port   int      `validate:"min=1,max=65535"`
	Stage  string   `validate:"oneof=dev prod"`
	Tags   []string `validate:"min=1"`
	Admin  string   `validate:"omitempty,email"`
	Token  string   `secret:"true" validate:"len=8"`
	Limits struct {
		Conns int `default:"0" validate:"gt=0"`
	}
}

func TestValidationErrorsAllAtOnce(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "server:\n  port: 0\n  stage: test\n  admin: root\n"})
	t.Setenv("CFG_SERVER__TOKEN", "short")
	c, err := config.New(formats, config.File("config.yaml"), config.Env("CFG"))
	require.NoError(t, err)
	_, err = config.Bind[Server](c, "server")
	require.EqualError(t, err, "config: 7 problems:\n"+
		"\tserver.admin = \"root\" (config.yaml:4): want an email address\n"+
		"\tserver.host (not set): a value is required\n"+
		"\tserver.limits.conns = \"0\" (default tag): want more than 0\n"+
		"\tserver.port = 0 (config.yaml:2): want at least 1\n"+
		"\tserver.stage = \"test\" (config.yaml:3): want one of dev, prod\n"+
		"\tserver.tags (not set): want at least 1 item\n"+
		"\tserver.token = [redacted] (env CFG_SERVER__TOKEN): want exactly 8 characters")

	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr))
	for _, p := range cfgErr.Problems {
		var fe validator.FieldError
		assert.True(t, errors.As(p, &fe), "%s wraps the validator's error", p.Key)
	}
}

func TestValidationSkipsValuesThatDidNotConvert(t *testing.T) {
	t.Setenv("CFG_SERVER__PORT", "eighty")
	t.Setenv("CFG_SERVER__HOST", "example.org")
	t.Setenv("CFG_SERVER__STAGE", "dev")
	t.Setenv("CFG_SERVER__TAGS", "a")
	t.Setenv("CFG_SERVER__TOKEN", "12345678")
	t.Setenv("CFG_SERVER__LIMITS__CONNS", "10")
	c, err := config.New(formats, config.Env("CFG"))
	require.NoError(t, err)
	_, err = config.Bind[Server](c, "server")
	assert.EqualError(t, err, `config: server.port = "eighty" (env CFG_SERVER__PORT): want an integer`,
		"no second problem saying the zero port is too small")
}

func TestValidationReasons(t *testing.T) {
	type Checks struct {
		Name  string   `validate:"max=3"`
		Items []int    `validate:"max=1"`
		Ratio float64  `validate:"lt=1"`
		URL   string   `validate:"omitempty,url"`
		IP    string   `validate:"omitempty,ip"`
		Code  string   `validate:"omitempty,uppercase"`
		Pair  []string `validate:"omitempty,len=2"`
	}
	inDir(t, map[string]string{"config.json": `{"c": {"name": "long", "items": [1, 2], "ratio": 2, "url": "x", "ip": "x", "code": "x", "pair": ["a"]}}`})
	c, err := config.New(formats, config.File("config.json"))
	require.NoError(t, err)
	_, err = config.Bind[Checks](c, "c")
	assert.EqualError(t, err, "config: 7 problems:\n"+
		"\tc.code = \"x\" (config.json:1): want a value that passes \"uppercase\"\n"+
		"\tc.ip = \"x\" (config.json:1): want an IP address\n"+
		"\tc.items = [1,2] (config.json:1): want at most 1 item\n"+
		"\tc.name = \"long\" (config.json:1): want at most 3 characters\n"+
		"\tc.pair = [\"a\"] (config.json:1): want exactly 2 items\n"+
		"\tc.ratio = 2 (config.json:1): want less than 1\n"+
		"\tc.url = \"x\" (config.json:1): want a URL")
}

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
