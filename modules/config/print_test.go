package config_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/modules/config"
)

func TestPrint(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\n  extra: {}\nlist: [a, b]\n"})
	t.Setenv("CFG_APP__PASSWORD", "hunter2")
	c, err := config.New(formats, config.File("config.yaml"), config.Env("CFG"), config.Args([]string{"--app.port=9090"}), config.AllowUnknownKeys())
	require.NoError(t, err)
	_, err = config.Bind[App](c, "app")
	require.NoError(t, err)

	var out bytes.Buffer
	require.NoError(t, c.Print(&out))
	assert.Equal(t, ""+
		"app.extra     = {}          # config.yaml:3\n"+
		"app.name      = \"demo\"      # config.yaml:2\n"+
		"app.password  = [redacted]  # env CFG_APP__PASSWORD\n"+
		"app.port      = \"9090\"      # flag --app.port\n"+
		"app.timeout   = \"5s\"        # default tag\n"+
		"list          = [\"a\",\"b\"]   # config.yaml:4\n", out.String())
}

func TestPrintAlignsByCharacters(t *testing.T) {
	c, err := config.New(config.Args([]string{"--größe=ü", "--a=long value"}))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, c.Print(&out))
	assert.Equal(t, ""+
		"a      = \"long value\"  # flag --a\n"+
		"größe  = \"ü\"           # flag --größe\n", out.String())
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPrintError(t *testing.T) {
	c, err := config.New(formats, config.Args([]string{"--a=1"}))
	require.NoError(t, err)
	assert.EqualError(t, c.Print(failingWriter{}), "print config: disk full")
}

func TestPrintRequested(t *testing.T) {
	boolFlags := func(args ...string) *flag.FlagSet {
		fs := flag.NewFlagSet("app", flag.ContinueOnError)
		fs.Bool(config.PrintFlag, false, "print the configuration and exit")
		fs.String("app.name", "", "")
		require.NoError(t, fs.Parse(args))
		return fs
	}
	tests := []struct {
		name     string
		give     []config.Option
		want     bool
		wantKeys []string
	}{
		{name: "args", give: []config.Option{config.Args([]string{"--print-config", "--app.name=x"})}, want: true, wantKeys: []string{"app.name"}},
		{name: "args false", give: []config.Option{config.Args([]string{"--print-config=false"})}, want: false},
		{name: "flags", give: []config.Option{config.Flags(boolFlags("-print-config", "-app.name=x"))}, want: true, wantKeys: []string{"app.name"}},
		{name: "not given", give: []config.Option{config.Args([]string{"--app.name=x"})}, want: false, wantKeys: []string{"app.name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.New(append(tt.give, config.PrintConfigFlag(), formats)...)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.PrintRequested())
			assert.Equal(t, tt.wantKeys, c.Keys())
			if !tt.want {
				assert.NoError(t, c.HandlePrintFlag(), "not asked for: it does nothing")
			}
		})
	}

	c, err := config.New(formats, config.Args([]string{"--print-config"}))
	require.NoError(t, err)
	assert.False(t, c.PrintRequested(), "without PrintConfigFlag the flag is an ordinary key")
	assert.Equal(t, []string{"print-config"}, c.Keys())
}

// TestHandlePrintFlag runs the test binary as a child that prints and
// exits, once without fx and once through Module.
func TestHandlePrintFlag(t *testing.T) {
	tests := []struct {
		give string // the helper scenario
		want string
	}{
		{
			give: "print-new",
			want: "" +
				"app.name      = \"demo\"      # flag --app.name\n" +
				"app.password  = [redacted]  # env HOSTFX_CONFIG_TEST_SECRET_APP__PASSWORD\n" +
				"app.port      = \"8080\"      # default tag\n" +
				"app.timeout   = \"5s\"        # default tag\n",
		},
		{
			give: "print-fx",
			want: "" +
				"app.name      = \"demo\"      # flag --app.name\n" +
				"app.password  = [redacted]  # env HOSTFX_CONFIG_TEST_SECRET_APP__PASSWORD\n" +
				"app.port      = \"8080\"      # default tag\n" +
				"app.timeout   = \"5s\"        # default tag\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"="+tt.give, "HOSTFX_CONFIG_TEST_SECRET_APP__PASSWORD=hunter2")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, stderr.String())
			assert.Equal(t, tt.want, string(out))
		})
	}
}
