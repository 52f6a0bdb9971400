package config_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
)

// layerSources are one of each kind of source, each setting app.name to
// its own name.
var layerSources = []struct {
	give       string
	option     func(t *testing.T) config.Option
	wantSource string
}{
	{
		give:       "defaults",
		option:     func(*testing.T) config.Option { return config.Defaults("app", App{Name: "defaults"}) },
		wantSource: "defaults",
	},
	{
		give:       "file",
		option:     func(*testing.T) config.Option { return config.File("config.yaml") },
		wantSource: "config.yaml:2",
	},
	{
		give:       "profile",
		option:     func(*testing.T) config.Option { return config.ProfileFile("config.{profile}.yaml") },
		wantSource: "config.dev.yaml:2",
	},
	{
		give:       "dotenv",
		option:     func(*testing.T) config.Option { return config.DotEnv(".env", "CFG_") },
		wantSource: ".env:2 CFG_APP__NAME",
	},
	{
		give: "env",
		option: func(t *testing.T) config.Option {
			t.Setenv("CFG_APP__NAME", "env")
			return config.Env("CFG_")
		},
		wantSource: "env CFG_APP__NAME",
	},
	{
		give: "flags",
		option: func(t *testing.T) config.Option {
			return config.Flags(parsedFlags(t, []string{"app.name"}, "-app.name=flags"))
		},
		wantSource: "flag -app.name",
	},
	{
		give:       "args",
		option:     func(*testing.T) config.Option { return config.Args([]string{"--app.name=args"}) },
		wantSource: "flag --app.name",
	},
}

func layerFiles() map[string]string {
	return map[string]string{
		"config.yaml":     "app:\n  name: file\n",
		"config.dev.yaml": "app:\n  name: profile\n",
		".env":            "# local overrides\nCFG_APP__NAME=dotenv\n",
	}
}

// TestPrecedence runs every ordered pair of sources: the later one wins,
// whichever kinds they are.
func TestPrecedence(t *testing.T) {
	for _, first := range layerSources {
		for _, second := range layerSources {
			if first.give == second.give {
				continue
			}
			t.Run(first.give+" then "+second.give, func(t *testing.T) {
				inDir(t, layerFiles())
				c, err := config.New(formats, config.Profile("dev"), first.option(t), second.option(t))
				require.NoError(t, err)
				e := entry(t, c, "app.name")
				assert.Equal(t, strconv.Quote(second.give), e.Value)
				assert.Equal(t, second.wantSource, e.Source)
				app, err := config.Bind[App](c, "app")
				require.NoError(t, err)
				assert.Equal(t, second.give, app.Name)
			})
		}
	}
}

func TestPrecedenceKeepsKeysNotOverridden(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: file\n  port: 1000\n"})
	t.Setenv("CFG_APP__PORT", "2000")
	c, err := config.New(formats, config.Defaults("app", App{Timeout: 0}), config.File("config.yaml"), config.Env("CFG"))
	require.NoError(t, err)
	app, err := config.Bind[App](c, "app")
	require.NoError(t, err)
	assert.Equal(t, App{Name: "file", Port: 2000, Timeout: 5e9}, app)
	assert.Equal(t, "config.yaml:2", entry(t, c, "app.name").Source)
	assert.Equal(t, "env CFG_APP__PORT", entry(t, c, "app.port").Source)
	assert.Equal(t, "defaults", entry(t, c, "app.timeout").Source, "Defaults puts a type's default tags in its layer")
}

func TestProfile(t *testing.T) {
	files := map[string]string{
		"config.yaml":      "app:\n  name: common\n",
		"config.dev.yaml":  "app:\n  name: dev\n",
		"config.prod.yaml": "app:\n  name: prod\n",
	}
	tests := []struct {
		name     string
		give     []config.Option
		giveEnv  string // APP_PROFILE
		want     string // the profile
		wantName string
	}{
		{name: "none", want: "", wantName: "common"},
		{name: "option", give: []config.Option{config.Profile("dev")}, want: "dev", wantName: "dev"},
		{
			name:     "env unset falls back to the option",
			give:     []config.Option{config.Profile("dev"), config.ProfileFromEnv("APP_PROFILE")},
			want:     "dev",
			wantName: "dev",
		},
		{
			name:     "env overrides the option",
			give:     []config.Option{config.ProfileFromEnv("APP_PROFILE"), config.Profile("dev")},
			giveEnv:  "prod",
			want:     "prod",
			wantName: "prod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, files)
			t.Setenv("APP_PROFILE", tt.giveEnv)
			opts := append([]config.Option{
				config.File("config.yaml"),
				config.ProfileFile("config.{profile}.yaml"),
				config.Env("APP"), // never reads APP_PROFILE as a key
			}, tt.give...)
			c, err := config.New(append(opts, formats)...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Profile())
			app, err := config.Bind[App](c, "app")
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, app.Name)
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		env     map[string]string
		give    []config.Option
		bare    bool // without the formats the other tests read
		wantErr string
	}{
		{
			name:    "missing file",
			give:    []config.Option{config.File("missing.yaml")},
			wantErr: "config: missing.yaml: file not found; create it, or wrap it in config.Optional if it may be absent",
		},
		{
			name:    "missing profile file",
			give:    []config.Option{config.Profile("staging"), config.ProfileFile("config.{profile}.yaml")},
			wantErr: "config: config.staging.yaml: file not found; create it, or wrap it in config.Optional if it may be absent",
		},
		{
			name: "every problem at once",
			give: []config.Option{config.File("a.yaml"), config.File("b.json"), config.DotEnv(".env", "APP")},
			wantErr: "config: 3 problems:\n" +
				"\ta.yaml: file not found; create it, or wrap it in config.Optional if it may be absent\n" +
				"\tb.json: file not found; create it, or wrap it in config.Optional if it may be absent\n" +
				"\t.env: file not found; create it, or wrap it in config.Optional if it may be absent",
		},
		{
			name:    "unknown format",
			files:   map[string]string{"config.conf": "x=1"},
			give:    []config.Option{config.File("config.conf")},
			wantErr: `config: config.conf: unknown format ".conf": want .json, .yaml, .yml, .toml or .ini, or a format of your own given with config.Formats`,
		},
		{
			name:    "a format that is not given",
			files:   map[string]string{"config.yaml": "app: {}"},
			give:    []config.Option{config.File("config.yaml")},
			bare:    true,
			wantErr: `config: config.yaml: no format reads ".yaml" files: pass config.Formats(yaml.Format()), with package yaml from github.com/hostfx/hostfx/modules/config/yaml`,
		},
		{
			name:    "a format without a parser",
			give:    []config.Option{config.Formats(config.Format{Name: "HCL", Extensions: []string{".hcl"}})},
			wantErr: `config: config.Formats(HCL): format "HCL": want a Name, Extensions and Parse`,
		},
		{
			name:    "broken YAML",
			files:   map[string]string{"config.yaml": "app:\n  name: [demo\n"},
			give:    []config.Option{config.File("config.yaml")},
			wantErr: "config: config.yaml: want valid YAML: yaml: line 1: did not find expected ',' or ']'",
		},
		{
			name:    "broken JSON",
			files:   map[string]string{"config.json": `{"app": }`},
			give:    []config.Option{config.File("config.json")},
			wantErr: "config: config.json: want valid JSON: invalid character '}' looking for beginning of value",
		},
		{
			name:    "a key twice in different case",
			files:   map[string]string{"config.yaml": "app:\n  Name: a\n  name: b\n"},
			give:    []config.Option{config.File("config.yaml")},
			wantErr: `config: app.name (config.yaml:3): set twice, as "Name" and "name"; keys are case-insensitive`,
		},
		{
			name:    "profile file template",
			give:    []config.Option{config.ProfileFile("config.yaml")},
			wantErr: `config: config.ProfileFile("config.yaml"): want a template holding "{profile}", such as "config.{profile}.yaml"`,
		},
		{
			name:    "profile that leaves the directory",
			env:     map[string]string{"APP_PROFILE": "../../etc/passwd"},
			give:    []config.Option{config.ProfileFromEnv("APP_PROFILE"), config.ProfileFile("config.{profile}.yaml")},
			wantErr: `config: env APP_PROFILE: profile "../../etc/passwd": want letters, digits, '.', '_' and '-', not starting with '.'`,
		},
		{
			name:    "env without prefix",
			give:    []config.Option{config.Env("")},
			wantErr: `config: config.Env(""): want a prefix, such as "APP_"; without one every variable of the process would be a key`,
		},
		{
			name:    "bad env separator",
			give:    []config.Option{config.EnvSeparator(".")},
			wantErr: `config: config.EnvSeparator("."): want letters, digits or underscores, such as "__"`,
		},
		{
			name:    "variable that is not a key",
			env:     map[string]string{"CFG_APP____NAME": "x"},
			give:    []config.Option{config.Env("CFG")},
			wantErr: `config: env CFG_APP____NAME: not a key: want sections of letters, digits and '_' after "CFG_", separated by "__"`,
		},
		{
			name:    "value and section at once",
			env:     map[string]string{"CFG_APP": "x", "CFG_APP__NAME": "y"},
			give:    []config.Option{config.Env("CFG")},
			wantErr: `config: app.name (env CFG_APP__NAME): env CFG_APP sets app, which holds this key; a key is a value or a section, not both`,
		},
		{
			name:    "unparsed flags",
			give:    []config.Option{config.Flags(flag.NewFlagSet("serve", flag.ContinueOnError))},
			wantErr: `config: config.Flags("serve"): the flag set is not parsed; call its Parse first`,
		},
		{
			name:    "positional argument",
			give:    []config.Option{config.Args([]string{"serve", "--app.name=x"})},
			wantErr: `config: args: "serve" is not a flag: want --key=value; put other arguments after --`,
		},
		{
			name:    "defaults of a non-struct",
			give:    []config.Option{config.Defaults("app", 42)},
			wantErr: `config: config.Defaults("app", int): want a struct or a pointer to one`,
		},
		{
			name:    "optional nil",
			give:    []config.Option{config.Optional(nil)},
			wantErr: `config: config.Optional(<nil>): want a file source, such as config.File(path)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, tt.files)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			opts := tt.give
			if !tt.bare {
				opts = append(opts, formats)
			}
			c, err := config.New(opts...)
			assert.Nil(t, c)
			require.EqualError(t, err, tt.wantErr)
			var cfgErr *config.Error
			require.True(t, errors.As(err, &cfgErr))
			assert.NotEmpty(t, cfgErr.Problems)
		})
	}
}

func TestOptionalFiles(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\n"})
	c, err := config.New(formats,
		config.File("config.yaml"),
		config.Optional(config.File("local.yaml")),
		config.Optional(config.ProfileFile("config.{profile}.yaml")),
		config.Optional(config.DotEnv(".env", "APP")),
		config.Profile("dev"),
	)
	require.NoError(t, err)
	assert.Equal(t, `"demo"`, entry(t, c, "app.name").Value)
}

func TestOptionalStillReportsBrokenFiles(t *testing.T) {
	inDir(t, map[string]string{"local.json": "{"})
	_, err := config.New(formats, config.Optional(config.File("local.json")))
	assert.EqualError(t, err, "config: local.json: want valid JSON: unexpected end of JSON input")
}

func TestDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("app:\n  name: demo\n"), 0o600))
	t.Chdir(t.TempDir())
	c, err := config.New(formats, config.Dir(dir), config.File("app.yaml"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "app.yaml")+":2", entry(t, c, "app.name").Source)
}

// TestFormats loads the same settings from each file format, with the
// line of each key.
func TestFormats(t *testing.T) {
	tests := []struct {
		give     string // file name
		body     string
		wantPort string // source of app.port
	}{
		{give: "config.yaml", body: "app:\n  name: demo\n  port: 9090\n", wantPort: "config.yaml:3"},
		{give: "config.yml", body: "app: {name: demo,\n  port: 9090}\n", wantPort: "config.yml:2"},
		{give: "config.json", body: "{\n  \"app\": {\n    \"name\": \"demo\",\n    \"port\": 9090\n  }\n}\n", wantPort: "config.json:4"},
		{give: "config.toml", body: "# app\n[app]\nname = \"demo\"\nport = 9090\n", wantPort: "config.toml:4"},
		{give: "dotted.toml", body: "app.name = \"demo\"\napp.port = 9090\n", wantPort: "dotted.toml:2"},
		{give: "config.ini", body: "; app\n[app]\nname = demo\nport = 9090\n", wantPort: "config.ini:4"},
		{give: "colon.ini", body: "[app]\nname: demo\nport: 9090\n", wantPort: "colon.ini:3"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			inDir(t, map[string]string{tt.give: tt.body})
			c, err := config.New(formats, config.File(tt.give))
			require.NoError(t, err)
			app, err := config.Bind[App](c, "app")
			require.NoError(t, err)
			assert.Equal(t, App{Name: "demo", Port: 9090, Timeout: 5e9}, app)
			assert.Equal(t, tt.wantPort, entry(t, c, "app.port").Source)
		})
	}
}

// TestFormatOfYourOwn reads a format the package does not know, and one
// that takes .json over from the built-in JSON.
func TestFormatOfYourOwn(t *testing.T) {
	// kv reads "key value" lines.
	kv := config.Format{
		Name:       "KV",
		Extensions: []string{".conf", ".JSON"},
		Parse: func(data []byte) (map[string]any, error) {
			m := map[string]any{}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				k, v, ok := strings.Cut(line, " ")
				if !ok {
					return nil, fmt.Errorf("%q: want a key and a value", line)
				}
				m[k] = v
			}
			return m, nil
		},
	}
	inDir(t, map[string]string{"app.conf": "name demo", "other.json": "port 9090", "bad.conf": "oops"})
	c, err := config.New(config.Formats(kv), config.File("app.conf"), config.File("other.json"))
	require.NoError(t, err)
	assert.Equal(t, config.Entry{Key: "name", Value: `"demo"`, Source: "app.conf"}, entry(t, c, "name"), "without Lines, the file alone")
	assert.Equal(t, `"9090"`, entry(t, c, "port").Value)

	_, err = config.New(config.Formats(kv), config.File("bad.conf"))
	assert.EqualError(t, err, `config: bad.conf: want valid KV: "oops": want a key and a value`)
}

func TestINISectionsNest(t *testing.T) {
	inDir(t, map[string]string{"config.ini": "debug = true\n[app.db]\nhost = example.org\n"})
	c, err := config.New(formats, config.File("config.ini"))
	require.NoError(t, err)
	assert.Equal(t, []string{"app.db.host", "debug"}, c.Keys())
	assert.Equal(t, "config.ini:3", entry(t, c, "app.db.host").Source)
}

func TestArgs(t *testing.T) {
	tests := []struct {
		give []string
		want map[string]string // key → value as Lookup shows it
	}{
		{give: []string{"--app.name=demo"}, want: map[string]string{"app.name": `"demo"`}},
		{give: []string{"--app.name", "demo"}, want: map[string]string{"app.name": `"demo"`}},
		{give: []string{"-app.name=demo"}, want: map[string]string{"app.name": `"demo"`}},
		{give: []string{"--debug", "--app.name=demo"}, want: map[string]string{"debug": `"true"`, "app.name": `"demo"`}},
		{give: []string{"--debug"}, want: map[string]string{"debug": `"true"`}},
		{give: []string{"--offset=-5"}, want: map[string]string{"offset": `"-5"`}},
		{give: []string{"--App.Name=demo"}, want: map[string]string{"app.name": `"demo"`}},
		{give: []string{"--app.name=demo", "--", "serve", "--port=1"}, want: map[string]string{"app.name": `"demo"`}},
	}
	for _, tt := range tests {
		c, err := config.New(formats, config.Args(tt.give))
		require.NoError(t, err, "%q", tt.give)
		got := map[string]string{}
		for _, e := range c.Entries() {
			got[e.Key] = e.Value
		}
		assert.Equal(t, tt.want, got, "%q", tt.give)
	}
}

func TestFlagsTakeOnlyWhatWasSet(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: file\n  port: 1000\n"})
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.String("app.name", "flag default", "")
	fs.Int("app.port", 1, "")
	require.NoError(t, fs.Parse([]string{"-app.port", "2000"}))
	c, err := config.New(formats, config.File("config.yaml"), config.Flags(fs))
	require.NoError(t, err)
	assert.Equal(t, `"file"`, entry(t, c, "app.name").Value, "an unset flag's default does not override")
	assert.Equal(t, config.Entry{Key: "app.port", Value: `"2000"`, Source: "flag -app.port"}, entry(t, c, "app.port"))
}

func TestEnvSeparator(t *testing.T) {
	t.Setenv("CFG_APP_NAME", "demo")
	c, err := config.New(formats, config.Env("CFG_"), config.EnvSeparator("_"))
	require.NoError(t, err)
	assert.Equal(t, "env CFG_APP_NAME", entry(t, c, "app.name").Source)
}

func TestZeroConfig(t *testing.T) {
	var c config.Config
	assert.Empty(t, c.Keys())
	assert.Empty(t, c.Entries())
	app, err := config.Bind[App](&c, "app")
	require.Error(t, err)
	assert.Equal(t, App{Port: 8080, Timeout: 5e9}, app)
}

func TestLayersMerge(t *testing.T) {
	inDir(t, map[string]string{
		"base.json": `{"app": {"name": "base", "db": {"host": "a", "port": 1}, "tags": ["x"], "extra": {}}, "mode": {"a": 1}}`,
		"over.json": `{"app": {"db": {"port": 2}, "tags": ["y", "z"]}, "mode": "flat"}`,
	})
	c, err := config.New(config.File("base.json"), config.File("over.json"), config.Args([]string{"--app.db.user=u"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"app.db.host", "app.db.port", "app.db.user", "app.extra", "app.name", "app.tags", "mode"}, c.Keys(),
		"sections merge key by key; a value replaces a section; an empty section is a key")
	assert.Equal(t, `["y","z"]`, entry(t, c, "app.tags").Value, "a list is replaced whole")
	assert.Equal(t, "over.json:1", entry(t, c, "app.db.port").Source)
	assert.Equal(t, "base.json:1", entry(t, c, "app.db.host").Source)
	assert.Equal(t, "flag --app.db.user", entry(t, c, "app.db.user").Source)
}

func TestBoundValuesDoNotShareTheConfiguration(t *testing.T) {
	type Loose struct {
		Tags  []any
		Extra map[string]any
		Any   any
	}
	inDir(t, map[string]string{"config.json": `{"l": {"tags": ["a"], "extra": {"k": "v"}, "any": {"n": [1]}}}`})
	c, err := config.New(config.File("config.json"))
	require.NoError(t, err)
	first, err := config.Bind[Loose](c, "l")
	require.NoError(t, err)
	first.Tags[0] = "changed"
	first.Extra["k"] = "changed"
	first.Any.(map[string]any)["n"].([]any)[0] = "changed"

	again, err := config.Bind[Loose](c, "l")
	require.NoError(t, err)
	assert.Equal(t, Loose{Tags: []any{"a"}, Extra: map[string]any{"k": "v"}, Any: map[string]any{"n": []any{1.0}}}, again)
}

func TestFormatsMayGiveSectionsOfAnyKeys(t *testing.T) {
	anyKeys := config.Format{
		Name:       "ANY",
		Extensions: []string{".any"},
		Parse: func([]byte) (map[string]any, error) {
			return map[string]any{"app": map[any]any{"name": "demo", 8080: []any{map[any]any{true: "x"}}}}, nil
		},
	}
	inDir(t, map[string]string{"c.any": ""})
	c, err := config.New(config.Formats(anyKeys), config.File("c.any"))
	require.NoError(t, err)
	assert.Equal(t, []string{"app.8080", "app.name"}, c.Keys())
	assert.Equal(t, `[{"true":"x"}]`, entry(t, c, "app.8080").Value)
}
