package config_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
)

type Server struct {
	Host   string   `validate:"required"`
	Port   int      `validate:"min=1,max=65535"`
	Stage  string   `validate:"oneof=dev prod"`
	Tags   []string `validate:"min=1"`
	Admin  string   `validate:"omitempty,min=5"`
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
		"\tserver.admin = \"root\" (config.yaml:4): want at least 5 characters\n"+
		"\tserver.host (not set): a value is required\n"+
		"\tserver.limits.conns = \"0\" (default tag): want more than 0\n"+
		"\tserver.port = 0 (config.yaml:2): want at least 1\n"+
		"\tserver.stage = \"test\" (config.yaml:3): want one of dev, prod\n"+
		"\tserver.tags (not set): want at least 1 item\n"+
		"\tserver.token = [redacted] (env CFG_SERVER__TOKEN): want exactly 8 characters")

	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr))
	for _, p := range cfgErr.Problems {
		var fe config.FieldError
		require.True(t, errors.As(p, &fe), "%s wraps the rule's error", p.Key)
		assert.NotEmpty(t, fe.Tag(), p.Key)
		assert.Contains(t, fe.Error(), fe.StructNamespace(), p.Key)
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
		Name   string            `validate:"max=3"`
		Items  []int             `validate:"max=1"`
		Ratio  float64           `validate:"lt=1"`
		Pair   []string          `validate:"omitempty,len=2"`
		Labels map[string]string `validate:"lte=1"`
		Wait   time.Duration     `validate:"gte=1s"`
		Count  uint              `validate:"oneof=1 2 3"`
		Level  *int              `validate:"required"`
	}
	inDir(t, map[string]string{"config.json": `{"c": {"name": "long", "items": [1, 2], "ratio": 2, "pair": ["a"], ` +
		`"labels": {"a": "1", "b": "2"}, "wait": "500ms", "count": 4}}`})
	c, err := config.New(formats, config.File("config.json"))
	require.NoError(t, err)
	_, err = config.Bind[Checks](c, "c")
	assert.EqualError(t, err, "config: 8 problems:\n"+
		"\tc.count = 4 (config.json:1): want one of 1, 2, 3\n"+
		"\tc.items = [1,2] (config.json:1): want at most 1 item\n"+
		"\tc.labels (config.json:1): want at most 1 item\n"+
		"\tc.level (not set): a value is required\n"+
		"\tc.name = \"long\" (config.json:1): want at most 3 characters\n"+
		"\tc.pair = [\"a\"] (config.json:1): want exactly 2 items\n"+
		"\tc.ratio = 2 (config.json:1): want less than 1\n"+
		"\tc.wait = \"500ms\" (config.json:1): want at least 1s")
}

func TestBuiltinRulesPass(t *testing.T) {
	type Embedded struct {
		Depth int `validate:"lte=3"`
	}
	type Good struct {
		Embedded
		Name    string        `validate:"required,min=2,max=5"`
		Port    *int          `validate:"omitempty,gt=0"`
		Retries *int          `validate:"required,gte=0"`
		Wait    time.Duration `validate:"gt=0,lt=1m"`
		Mode    string        `validate:"oneof=a b"`
		Code    int           `validate:"oneof=-1 16"`
		Skipped string        `validate:"-"`
		Inner   *struct {
			N int `validate:"min=1"`
		}
		Empty []string `validate:"omitempty,len=2"`
	}
	t.Setenv("CFG_G__NAME", "héllo") // five characters, six bytes
	t.Setenv("CFG_G__RETRIES", "0")
	t.Setenv("CFG_G__WAIT", "2s")
	t.Setenv("CFG_G__MODE", "b")
	t.Setenv("CFG_G__CODE", "16")
	t.Setenv("CFG_G__DEPTH", "3")
	c, err := config.New(config.Env("CFG"))
	require.NoError(t, err)
	g, err := config.Bind[Good](c, "g")
	require.NoError(t, err)
	assert.Equal(t, "héllo", g.Name)

	t.Setenv("CFG_G__DEPTH", "4")
	t.Setenv("CFG_G__INNER__N", "0")
	c, err = config.New(config.Env("CFG"))
	require.NoError(t, err)
	_, err = config.Bind[Good](c, "g")
	assert.EqualError(t, err, "config: 2 problems:\n"+
		"\tg.depth = \"4\" (env CFG_G__DEPTH): want at most 3\n"+
		"\tg.inner.n = \"0\" (env CFG_G__INNER__N): want at least 1",
		"the rules of embedded structs and of sections behind pointers are checked")
}

func TestTagsTheBuiltinRulesCannotCheck(t *testing.T) {
	tests := []struct {
		name    string
		bind    func(*config.Config) error
		wantErr string
	}{
		{
			name: "a rule that is not built in",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					Admin string `validate:"omitempty,email"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.admin (validate tag): the rule "email" of the validate tag is not built in; ` +
				`give config.Validation(validate.New()) to config.New for all of go-playground/validator's rules`,
		},
		{
			name: "a parameter that is not a number",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					Port int `validate:"min=one"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.port (validate tag): the rule "min=one" of the validate tag: wants a number, not "one"`,
		},
		{
			name: "a parameter that is not a duration",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					Wait time.Duration `validate:"max=soon"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.wait (validate tag): the rule "max=soon" of the validate tag: wants a duration, such as max=1s, not "soon"`,
		},
		{
			name: "a rule that compares a bool",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					On bool `validate:"min=1"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.on (validate tag): the rule "min=1" of the validate tag: applies to numbers, strings, lists and maps, not to a bool`,
		},
		{
			name: "a rule without its parameter",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					Port int `validate:"gt"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.port (validate tag): the rule "gt" of the validate tag: wants a parameter, such as gt=1`,
		},
		{
			name: "oneof of floats",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					Ratio float64 `validate:"oneof=0.5 1"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.ratio (validate tag): the rule "oneof=0.5 1" of the validate tag: applies to strings and integers, not to a float64`,
		},
		{
			name: "oneof of integers that are not",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					N int `validate:"oneof=1 two"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.n (validate tag): the rule "oneof=1 two" of the validate tag: wants integers, not "two"`,
		},
		{
			name: "required with a parameter",
			bind: func(c *config.Config) error {
				_, err := config.Bind[struct {
					N int `validate:"required=yes"`
				}](c, "s")
				return err
			},
			wantErr: `config: s.n (validate tag): the rule "required=yes" of the validate tag: takes no parameter`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.New(config.Args([]string{"--s.n=2", "--s.port=2", "--s.ratio=2", "--s.admin=x", "--s.wait=1s", "--s.on=true"}),
				config.AllowUnknownKeys())
			require.NoError(t, err)
			assert.EqualError(t, tt.bind(c), tt.wantErr)
		})
	}
}

// fakeValidator reports what it is told to, and remembers what it checked.
type fakeValidator struct {
	err     error
	checked []any
}

func (f *fakeValidator) Validate(v any) error {
	f.checked = append(f.checked, v)
	return f.err
}

// fieldError is a FieldError of a fakeValidator.
type fieldError struct{ ns, tag, param string }

func (e fieldError) Error() string           { return fmt.Sprintf("%s failed %s", e.ns, e.tag) }
func (e fieldError) StructNamespace() string { return e.ns }
func (e fieldError) Tag() string             { return e.tag }
func (e fieldError) Param() string           { return e.param }

func TestValidation(t *testing.T) {
	type Section struct {
		Port   int `validate:"email"` // a rule the fake knows
		Inner  struct{ Depth int }
		Hidden string `config:"-"`
	}
	args := config.Args([]string{"--s.port=0", "--s.inner.depth=7"})

	t.Run("failures at their keys", func(t *testing.T) {
		fake := &fakeValidator{err: errors.Join(
			fieldError{ns: "Section.Port", tag: "min", param: "1"},
			fmt.Errorf("wrapped: %w", errors.Join(fieldError{ns: "Section.Inner.Depth", tag: "frobnicated"})),
			fieldError{ns: "Section.Hidden", tag: "required"}, // binds to no key
		)}
		c, err := config.New(args, config.Validation(fake))
		require.NoError(t, err)
		_, err = config.Bind[Section](c, "s")
		assert.EqualError(t, err, "config: 2 problems:\n"+
			"\ts.inner.depth = \"7\" (flag --s.inner.depth): want a value that passes \"frobnicated\"\n"+
			"\ts.port = \"0\" (flag --s.port): want at least 1")
		require.Len(t, fake.checked, 1)
		s, ok := fake.checked[0].(*Section)
		require.True(t, ok, "the validator gets a pointer to the bound struct, not %T", fake.checked[0])
		assert.Equal(t, 7, s.Inner.Depth, "the validator sees the decoded values")
	})
	t.Run("any other error at the section", func(t *testing.T) {
		fake := &fakeValidator{err: errors.New("validator broke")}
		c, err := config.New(args, config.Validation(fake))
		require.NoError(t, err)
		_, err = config.Bind[Section](c, "s")
		assert.EqualError(t, err, "config: s (validate tags of config_test.Section): validator broke")
	})
	t.Run("also for the services section", func(t *testing.T) {
		fake := &fakeValidator{}
		_, err := config.New(config.Args([]string{"--services.api.replicas=2"}), config.Validation(fake))
		require.NoError(t, err)
		require.Len(t, fake.checked, 1)
		assert.IsType(t, &config.ServiceSettings{}, fake.checked[0])
	})
	t.Run("nil", func(t *testing.T) {
		_, err := config.New(config.Validation(nil))
		assert.EqualError(t, err, "config: config.Validation(<nil>): want a Validator, such as validate.New()")
	})
}
