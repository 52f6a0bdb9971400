package validate_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
	"github.com/hostfx/hostfx/modules/config/validate"
)

// The failures of validator are the failures config reports.
var _ config.FieldError = validator.FieldError(nil)

// load reads config.json with body from a fresh working directory, and
// any more options, checking tags with validator.
func load(t *testing.T, body string, opts ...config.Option) *config.Config {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600))
	t.Chdir(dir)
	c, err := config.New(append(opts, config.File("config.json"), config.Validation(validate.New()))...)
	require.NoError(t, err)
	return c
}

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
	t.Setenv("CFG_SERVER__TOKEN", "short")
	c := load(t, `{"server": {"port": 0, "stage": "test", "admin": "root"}}`, config.Env("CFG"))
	_, err := config.Bind[Server](c, "server")
	require.EqualError(t, err, "config: 7 problems:\n"+
		"\tserver.admin = \"root\" (config.json:1): want an email address\n"+
		"\tserver.host (not set): a value is required\n"+
		"\tserver.limits.conns = \"0\" (default tag): want more than 0\n"+
		"\tserver.port = 0 (config.json:1): want at least 1\n"+
		"\tserver.stage = \"test\" (config.json:1): want one of dev, prod\n"+
		"\tserver.tags (not set): want at least 1 item\n"+
		"\tserver.token = [redacted] (env CFG_SERVER__TOKEN): want exactly 8 characters")

	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr))
	for _, p := range cfgErr.Problems {
		var fe validator.FieldError
		assert.True(t, errors.As(p, &fe), "%s wraps the validator's error", p.Key)
	}
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
		Peers []string `validate:"dive,hostname_port"`
	}
	c := load(t, `{"c": {"name": "long", "items": [1, 2], "ratio": 2, "url": "x", "ip": "x", "code": "x", "pair": ["a"], "peers": ["a:1", "b"]}}`)
	_, err := config.Bind[Checks](c, "c")
	assert.EqualError(t, err, "config: 8 problems:\n"+
		"\tc.code = \"x\" (config.json:1): want a value that passes \"uppercase\"\n"+
		"\tc.ip = \"x\" (config.json:1): want an IP address\n"+
		"\tc.items = [1,2] (config.json:1): want at most 1 item\n"+
		"\tc.name = \"long\" (config.json:1): want at most 3 characters\n"+
		"\tc.pair = [\"a\"] (config.json:1): want exactly 2 items\n"+
		"\tc.peers[1] = \"b\" (config.json:1): want host:port\n"+
		"\tc.ratio = 2 (config.json:1): want less than 1\n"+
		"\tc.url = \"x\" (config.json:1): want a URL")
}

func TestATagValidatorCannotReadIsAnError(t *testing.T) {
	type Bad struct {
		Port int `validate:"frobnicate"`
	}
	c := load(t, `{"bad": {"port": 1}}`)
	_, err := config.Bind[Bad](c, "bad")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "config: bad (validate tags of validate_test.Bad): go-playground/validator: "), err.Error())
	assert.Contains(t, err.Error(), "frobnicate")
}

// Rules has a field for each case of the built-in rules: the values in
// rulesJSON pass the odd fields and fail the even ones. A section that
// fails its own tag, or that omitempty skips, is not checked inside.
type Rules struct {
	Required1 string            `validate:"required"`
	Required2 string            `validate:"required"`
	Required3 *int              `validate:"required"`
	Required4 *int              `validate:"required"`
	Required5 []int             `validate:"required"`
	Required6 []int             `validate:"required"`
	Omit1     string            `validate:"omitempty,min=3"`
	Omit2     string            `validate:"omitempty,min=3"`
	Omit3     *int              `validate:"omitempty,gt=1"`
	Omit4     *int              `validate:"omitempty,gt=1"`
	Min1      string            `validate:"min=2"`
	Min2      string            `validate:"min=2"`
	Max1      []int             `validate:"max=1"`
	Max2      []int             `validate:"max=1"`
	Len1      map[string]string `validate:"len=1"`
	Len2      map[string]string `validate:"len=1"`
	Gt1       int               `validate:"gt=0"`
	Gt2       int               `validate:"gt=0"`
	Gte1      uint              `validate:"gte=2"`
	Gte2      uint              `validate:"gte=2"`
	Lt1       float64           `validate:"lt=0.5"`
	Lt2       float64           `validate:"lt=0.5"`
	Lte1      time.Duration     `validate:"lte=1m"`
	Lte2      time.Duration     `validate:"lte=1m"`
	Dur1      time.Duration     `validate:"gt=100"` // nanoseconds
	Dur2      time.Duration     `validate:"gt=100"`
	Oneof1    string            `validate:"oneof=a b"`
	Oneof2    string            `validate:"oneof=a b"`
	Oneof3    int               `validate:"oneof=1 16"`
	Oneof4    int               `validate:"oneof=1 16"`
	Runes1    string            `validate:"len=2"`
	Runes2    string            `validate:"len=2"`
	Nested1   struct {
		N int `validate:"min=1"`
	}
	Nested2 struct {
		N int `validate:"min=1"`
	}
	Pointer1 *struct {
		N int `validate:"min=1"`
	}
	Pointer2 *struct {
		N int `validate:"min=1"`
	}
	NilPointer *int `validate:"min=1"`
	Section5   struct {
		N int `validate:"min=1"`
	} `validate:"omitempty"`
	Section6 struct {
		N int `validate:"min=1"`
	} `validate:"required"`
}

const rulesJSON = `{"r": {
	"required1": "x", "required2": "", "required3": 0, "required5": [],
	"omit1": "", "omit2": "ab", "omit4": 1,
	"min1": "ab", "min2": "a",
	"max1": [1], "max2": [1, 2],
	"len1": {"a": "1"}, "len2": {},
	"gt1": 1, "gt2": 0,
	"gte1": 2, "gte2": 1,
	"lt1": 0.4, "lt2": 0.5,
	"lte1": "1m", "lte2": "61s",
	"dur1": "101ns", "dur2": "100ns",
	"oneof1": "b", "oneof2": "c",
	"oneof3": 16, "oneof4": 2,
	"runes1": "hé", "runes2": "hé!",
	"nested1": {"n": 1}, "nested2": {"n": 0},
	"pointer1": {"n": 1}, "pointer2": {"n": 0}
}}`

func TestTheBuiltinRulesMeanWhatValidatorsMean(t *testing.T) {
	problems := func(c *config.Config) []string {
		_, err := config.Bind[Rules](c, "r")
		var cfgErr *config.Error
		require.True(t, errors.As(err, &cfgErr), "%v", err)
		var out []string
		for _, p := range cfgErr.Problems {
			out = append(out, p.Error())
		}
		return out
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(rulesJSON), 0o600))
	builtin, err := config.New(config.Dir(dir), config.File("config.json"))
	require.NoError(t, err)
	full, err := config.New(config.Dir(dir), config.File("config.json"), config.Validation(validate.New()))
	require.NoError(t, err)

	want := problems(full)
	assert.Equal(t, want, problems(builtin))
	require.Len(t, want, 20, "every even field fails, and the nil pointer")
	for _, p := range want {
		assert.Regexp(t, `^r\.(\w+2|\w+4|\w+6|nil_pointer|nested2\.n|pointer2\.n) `, p)
	}
}
