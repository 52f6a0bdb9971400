package config_test

import (
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/modules/config"
)

func TestOptionString(t *testing.T) {
	tests := []struct {
		give config.Option
		want string
	}{
		{config.Defaults("app", App{}), `config.Defaults("app", config_test.App)`},
		{config.File("config.yaml"), `config.File("config.yaml")`},
		{config.ProfileFile("config.{profile}.yaml"), `config.ProfileFile("config.{profile}.yaml")`},
		{config.DotEnv(".env", "APP_"), `config.DotEnv(".env", "APP_")`},
		{config.Optional(config.File("local.yaml")), `config.Optional(config.File("local.yaml"))`},
		{config.Env("APP_"), `config.Env("APP_")`},
		{config.Flags(flag.NewFlagSet("serve", flag.ContinueOnError)), `config.Flags("serve")`},
		{config.Flags(nil), `config.Flags(nil)`},
		{config.Args([]string{"--port=1"}), `config.Args(["--port=1"])`},
		{config.Profile("development"), `config.Profile("development")`},
		{config.ProfileFromEnv("APP_PROFILE"), `config.ProfileFromEnv("APP_PROFILE")`},
		{config.Dir("/etc/app"), `config.Dir("/etc/app")`},
		{config.EnvSeparator("__"), `config.EnvSeparator("__")`},
		{config.AllowUnknownKeys(), `config.AllowUnknownKeys()`},
		{config.PrintConfigFlag(), `config.PrintConfigFlag()`},
		{formats, `config.Formats(YAML, TOML, INI)`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.String())
	}
}
