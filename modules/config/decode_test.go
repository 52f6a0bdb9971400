package config_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

// Kinds has a field of every kind binding converts to.
type Kinds struct {
	String   string
	Int      int
	Int8     int8
	Uint16   uint16
	Float    float64
	Bool     bool
	Duration time.Duration
	Size     config.Size
	Mode     modes.ExecutionMode
	Restart  lifecycle.Strategy
	Policy   lifecycle.Policy
	Fruit    Fruit
	Strings  []string
	Ints     []int
	Array    [2]int
	Bytes    []byte
	Map      map[string]int
	ModeMap  map[modes.ExecutionMode]string
	Time     time.Time
	IP       net.IP
	Ptr      *int
	Any      any
	Level    Level
	Nested   struct{ Value int }
}

// Level is a string type of the user's own.
type Level string

// Fruit is a text type of the user's own whose errors happen to say
// "want": binding still names the type it was decoding to, since only
// hostfx's own text types are known to say what they accept.
type Fruit string

func (f *Fruit) UnmarshalText(text []byte) error {
	if string(text) != "apple" {
		return errors.New("want apple")
	}
	*f = Fruit(text)
	return nil
}

// bindEnv binds section k with one variable set.
func bindEnv(t *testing.T, name, value string) (Kinds, error) {
	t.Helper()
	t.Setenv(name, value)
	c, err := config.New(formats, config.Env("CFG"))
	require.NoError(t, err)
	return config.Bind[Kinds](c, "k")
}

func TestConvertStrings(t *testing.T) {
	five := 5
	tests := []struct {
		give string // variable=value
		want Kinds
	}{
		{give: "CFG_K__STRING=hello", want: Kinds{String: "hello"}},
		{give: "CFG_K__INT=42", want: Kinds{Int: 42}},
		{give: "CFG_K__INT=-7", want: Kinds{Int: -7}},
		{give: "CFG_K__INT=010", want: Kinds{Int: 10}},
		{give: "CFG_K__INT=0x1F", want: Kinds{Int: 31}},
		{give: "CFG_K__INT= 3 ", want: Kinds{Int: 3}},
		{give: "CFG_K__INT8=-128", want: Kinds{Int8: -128}},
		{give: "CFG_K__UINT16=65535", want: Kinds{Uint16: 65535}},
		{give: "CFG_K__FLOAT=2.5", want: Kinds{Float: 2.5}},
		{give: "CFG_K__FLOAT=1e3", want: Kinds{Float: 1000}},
		{give: "CFG_K__BOOL=true", want: Kinds{Bool: true}},
		{give: "CFG_K__BOOL=1", want: Kinds{Bool: true}},
		{give: "CFG_K__BOOL=yes", want: Kinds{Bool: true}},
		{give: "CFG_K__BOOL=Off", want: Kinds{Bool: false}},
		{give: "CFG_K__DURATION=1m30s", want: Kinds{Duration: 90 * time.Second}},
		{give: "CFG_K__DURATION=250ms", want: Kinds{Duration: 250 * time.Millisecond}},
		{give: "CFG_K__SIZE=64KiB", want: Kinds{Size: 64 * config.KiB}},
		{give: "CFG_K__SIZE=10MB", want: Kinds{Size: 10 * config.MB}},
		{give: "CFG_K__SIZE=1.5 gib", want: Kinds{Size: 1536 * config.MiB}},
		{give: "CFG_K__SIZE=512", want: Kinds{Size: 512}},
		{give: "CFG_K__MODE=SEPARATE_THREAD", want: Kinds{Mode: modes.SeparateThread}},
		{give: "CFG_K__MODE=separate-thread-async", want: Kinds{Mode: modes.SeparateThreadAsync}},
		{give: "CFG_K__MODE=mainEventLoopAsync", want: Kinds{Mode: modes.MainEventLoopAsync}},
		{give: "CFG_K__RESTART=immediate", want: Kinds{Restart: lifecycle.Immediate()}},
		{give: "CFG_K__POLICY=never", want: Kinds{Policy: lifecycle.Never}},
		{give: "CFG_K__FRUIT=apple", want: Kinds{Fruit: "apple"}},
		{give: "CFG_K__STRINGS=a, b ,c", want: Kinds{Strings: []string{"a", "b", "c"}}},
		{give: "CFG_K__STRINGS=", want: Kinds{Strings: []string{}}},
		{give: "CFG_K__INTS=1,2,3", want: Kinds{Ints: []int{1, 2, 3}}},
		{give: "CFG_K__ARRAY=4,5", want: Kinds{Array: [2]int{4, 5}}},
		{give: "CFG_K__BYTES=a,b", want: Kinds{Bytes: []byte("a,b")}},
		{give: "CFG_K__MAP=a=1, B=2", want: Kinds{Map: map[string]int{"a": 1, "b": 2}}},
		{give: "CFG_K__MAP__X=3", want: Kinds{Map: map[string]int{"x": 3}}},
		{give: "CFG_K__MODE_MAP__SEPARATE_THREAD=worker", want: Kinds{ModeMap: map[modes.ExecutionMode]string{modes.SeparateThread: "worker"}}},
		{give: "CFG_K__TIME=2024-05-01T10:00:00Z", want: Kinds{Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}},
		{give: "CFG_K__IP=10.0.0.1", want: Kinds{IP: net.ParseIP("10.0.0.1")}},
		{give: "CFG_K__PTR=5", want: Kinds{Ptr: &five}},
		{give: "CFG_K__ANY=whatever", want: Kinds{Any: "whatever"}},
		{give: "CFG_K__LEVEL=debug", want: Kinds{Level: "debug"}},
		{give: "CFG_K__NESTED__VALUE=9", want: Kinds{Nested: struct{ Value int }{9}}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			name, value := cut(tt.give)
			got, err := bindEnv(t, name, value)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConvertStringsErrors(t *testing.T) {
	tests := []struct {
		give    string // variable=value
		wantErr string
	}{
		{give: "CFG_K__INT=4x2", wantErr: `config: k.int = "4x2" (env CFG_K__INT): want an integer`},
		{give: "CFG_K__INT=2.5", wantErr: `config: k.int = "2.5" (env CFG_K__INT): want an integer`},
		{give: "CFG_K__INT=99999999999999999999", wantErr: `config: k.int = "99999999999999999999" (env CFG_K__INT): want an integer from -9223372036854775808 to 9223372036854775807`},
		{give: "CFG_K__INT8=300", wantErr: `config: k.int8 = "300" (env CFG_K__INT8): want an integer from -128 to 127`},
		{give: "CFG_K__UINT16=-1", wantErr: `config: k.uint16 = "-1" (env CFG_K__UINT16): want a whole number from 0 to 65535`},
		{give: "CFG_K__UINT16=70000", wantErr: `config: k.uint16 = "70000" (env CFG_K__UINT16): want a whole number from 0 to 65535`},
		{give: "CFG_K__FLOAT=abc", wantErr: `config: k.float = "abc" (env CFG_K__FLOAT): want a number`},
		{give: "CFG_K__BOOL=maybe", wantErr: `config: k.bool = "maybe" (env CFG_K__BOOL): want true or false`},
		{give: "CFG_K__DURATION=5", wantErr: `config: k.duration = "5" (env CFG_K__DURATION): want a duration such as 300ms, 30s or 1h30m`},
		{give: "CFG_K__DURATION=5 sec", wantErr: `config: k.duration = "5 sec" (env CFG_K__DURATION): want a duration such as 300ms, 30s or 1h30m`},
		{give: "CFG_K__SIZE=12 parsecs", wantErr: `config: k.size = "12 parsecs" (env CFG_K__SIZE): size "12 parsecs": want a byte size such as 512KiB or 10MB`},
		{give: "CFG_K__SIZE=1.5B", wantErr: `config: k.size = "1.5B" (env CFG_K__SIZE): size "1.5B": want a whole number of bytes`},
		{give: "CFG_K__MODE=threaded", wantErr: `config: k.mode = "threaded" (env CFG_K__MODE): unknown execution mode "threaded": want one of MAIN_EVENT_LOOP_ASYNC, SEPARATE_THREAD, SEPARATE_THREAD_ASYNC, SEPARATE_PROCESS, SEPARATE_PROCESS_ASYNC`},
		{give: "CFG_K__RESTART=soon", wantErr: `config: k.restart = "soon" (env CFG_K__RESTART): unknown restart strategy "soon": want one of IMMEDIATE, FIXED_BACKOFF, EXPONENTIAL_BACKOFF, LINEAR_BACKOFF`},
		{give: "CFG_K__POLICY=sometimes", wantErr: `config: k.policy = "sometimes" (env CFG_K__POLICY): unknown restart policy "sometimes": want one of ON_FAILURE, ALWAYS, NEVER`},
		{give: "CFG_K__FRUIT=pear", wantErr: `config: k.fruit = "pear" (env CFG_K__FRUIT): want a valid config_test.Fruit: want apple`},
		{give: "CFG_K__INTS=1,x,3", wantErr: `config: k.ints[1] = "x" (env CFG_K__INTS): want an integer`},
		{give: "CFG_K__ARRAY=1", wantErr: `config: k.array = "1" (env CFG_K__ARRAY): want a list of 2 items`},
		{give: "CFG_K__MAP=a", wantErr: `config: k.map = "a" (env CFG_K__MAP): want a section, or key=value pairs separated by commas`},
		{give: "CFG_K__MAP=a=x", wantErr: `config: k.map.a = "x" (env CFG_K__MAP): want an integer`},
		{give: "CFG_K__MODE_MAP__FAST=x", wantErr: `config: k.mode_map.fast = "fast" (env CFG_K__MODE_MAP__FAST): unknown execution mode "fast": want one of MAIN_EVENT_LOOP_ASYNC, SEPARATE_THREAD, SEPARATE_THREAD_ASYNC, SEPARATE_PROCESS, SEPARATE_PROCESS_ASYNC`},
		{give: "CFG_K__TIME=yesterday", wantErr: `config: k.time = "yesterday" (env CFG_K__TIME): want a valid time.Time: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{give: "CFG_K__IP=1.2.3", wantErr: `config: k.ip = "1.2.3" (env CFG_K__IP): want a valid net.IP: invalid IP address: 1.2.3`},
		{give: "CFG_K__NESTED=7", wantErr: `config: k.nested = "7" (env CFG_K__NESTED): want a section of keys`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			name, value := cut(tt.give)
			_, err := bindEnv(t, name, value)
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

// TestConvertFileValues binds the typed values parsers produce: JSON's
// float64 numbers, YAML's ints, lists and sections.
func TestConvertFileValues(t *testing.T) {
	tests := []struct {
		give    string // config.json or config.yaml contents
		file    string
		want    Kinds
		wantErr string
	}{
		{file: "config.json", give: `{"k": {"int": 8080, "float": 1, "uint16": 7}}`, want: Kinds{Int: 8080, Float: 1, Uint16: 7}},
		{file: "config.yaml", give: "k:\n  strings: [a, b]\n  ints: [1, 2]\n  map: {a: 1}\n  string: 12\n  duration: 0\n  size: 2048\n", want: Kinds{
			Strings: []string{"a", "b"}, Ints: []int{1, 2}, Map: map[string]int{"a": 1}, String: "12", Size: 2 * config.KiB,
		}},
		{file: "config.yaml", give: "k:\n  bool: true\n  ptr: ~\n  any: [1, x]\n", want: Kinds{Bool: true, Any: []any{1, "x"}}},
		{file: "config.json", give: `{"k": {"int": 80.5}}`, wantErr: `config: k.int = 80.5 (config.json:1): want an integer`},
		{file: "config.json", give: `{"k": {"int8": 1000}}`, wantErr: `config: k.int8 = 1000 (config.json:1): want an integer from -128 to 127`},
		{file: "config.json", give: `{"k": {"uint16": -3}}`, wantErr: `config: k.uint16 = -3 (config.json:1): want a whole number from 0 to 65535`},
		{file: "config.yaml", give: "k:\n  duration: 30\n", wantErr: `config: k.duration = 30 (config.yaml:2): want a duration such as 300ms, 30s or 1h30m`},
		{file: "config.yaml", give: "k:\n  string: {a: 1}\n", wantErr: `config: k.string (config.yaml:2): want a single value, not a section or a list`},
		{file: "config.yaml", give: "k:\n  string: [a]\n", wantErr: `config: k.string = ["a"] (config.yaml:2): want a single value, not a section or a list`},
		{file: "config.yaml", give: "k:\n  ints: {a: 1}\n", wantErr: `config: k.ints (config.yaml:2): want a list, or items separated by commas`},
		{file: "config.yaml", give: "k:\n  map: [1]\n", wantErr: `config: k.map = [1] (config.yaml:2): want a section, or key=value pairs separated by commas`},
		{file: "config.yaml", give: "k:\n  bool: 2\n", wantErr: `config: k.bool = 2 (config.yaml:2): want true or false`},
		{file: "config.yaml", give: "k:\n  mode: [SEPARATE_THREAD]\n", wantErr: `config: k.mode = ["SEPARATE_THREAD"] (config.yaml:2): want a single value, not a section or a list`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			inDir(t, map[string]string{tt.file: tt.give})
			c, err := config.New(formats, config.File(tt.file))
			require.NoError(t, err)
			got, err := config.Bind[Kinds](c, "k")
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestConversionErrorsAllAtOnce checks that binding goes on after a bad
// value, and that each problem is there to read.
func TestConversionErrorsAllAtOnce(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "k:\n  int: many\n  bool: sometimes\n"})
	t.Setenv("CFG_K__DURATION", "soon")
	c, err := config.New(formats, config.File("config.yaml"), config.Env("CFG"))
	require.NoError(t, err)
	_, err = config.Bind[Kinds](c, "k")
	require.EqualError(t, err, "config: 3 problems:\n"+
		"\tk.bool = \"sometimes\" (config.yaml:3): want true or false\n"+
		"\tk.duration = \"soon\" (env CFG_K__DURATION): want a duration such as 300ms, 30s or 1h30m\n"+
		"\tk.int = \"many\" (config.yaml:2): want an integer")
	var cfgErr *config.Error
	require.True(t, errors.As(err, &cfgErr))
	require.Len(t, cfgErr.Problems, 3)
	assert.Equal(t, config.Problem{
		Key:    "k.int",
		Value:  `"many"`,
		Source: "config.yaml:2",
		Reason: "want an integer",
		Err:    cfgErr.Problems[2].Err,
	}, *cfgErr.Problems[2])
	var numErr interface{ Unwrap() error }
	assert.True(t, errors.As(err, &numErr), "each problem wraps its cause")
}

type Tagged struct {
	Port    int `config:"listen_port"`
	Ignored int `config:"-"`
	//lint:ignore U1000 present to show that unexported fields are skipped
	private int
	Base
	HTTPAddr string
	Inner    *Inner
}

type Base struct {
	Region string `default:"eu"`
	Port   int    // port: Tagged.Port is listen_port, so they do not clash
}

type Inner struct {
	Level int `default:"3"`
}

func TestFieldKeys(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "t:\n  listen_port: 1\n  port: 2\n  http_addr: x\n"})
	c, err := config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)
	got, err := config.Bind[Tagged](c, "t")
	require.NoError(t, err)
	assert.Equal(t, Tagged{Port: 1, Base: Base{Region: "eu", Port: 2}, HTTPAddr: "x"}, got)

	inDir(t, map[string]string{"config.yaml": "t:\n  ignored: 1\n  private: 2\n  inner: {}\n"})
	c, err = config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)
	got, err = config.Bind[Tagged](c, "t")
	assert.EqualError(t, err, "config: 2 problems:\n"+
		"\tt.ignored = 1 (config.yaml:2): unknown key; want one of http_addr, inner, listen_port, port, region\n"+
		"\tt.private = 2 (config.yaml:3): unknown key; want one of http_addr, inner, listen_port, port, region")
	assert.Equal(t, &Inner{Level: 3}, got.Inner, "a pointer section that is set gets its defaults")
}

func TestBindRootAndScalars(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\nlist: a,b\nservices:\n  w:\n    mode: SEPARATE_THREAD\n"})
	c, err := config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)

	type Root struct {
		App  App
		List []string
	}
	root, err := config.Bind[Root](c, "")
	require.NoError(t, err, "services belongs to the framework, not to the root type")
	assert.Equal(t, "demo", root.App.Name)

	tags, err := config.Bind[[]string](c, "list")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, tags)

	missing, err := config.Bind[*App](c, "nothing")
	require.EqualError(t, err, "config: nothing.name (not set): a value is required")
	assert.Equal(t, 8080, missing.Port)
}

func cut(s string) (string, string) {
	for i := range len(s) {
		if s[i] == '=' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
