package config_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/modules/config"
)

func TestSecretFiles(t *testing.T) {
	tests := []struct {
		name string
		give string // the secret file's contents
		want string
	}{
		{name: "trailing newline", give: "s3cret\n", want: "s3cret"},
		{name: "windows newline", give: "s3cret\r\n", want: "s3cret"},
		{name: "no newline", give: "s3cret", want: "s3cret"},
		{name: "only one newline", give: "s3cret\n\n", want: "s3cret\n"},
		{name: "inner newlines", give: "line 1\nline 2\n", want: "line 1\nline 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"password": tt.give})
			t.Setenv("CFG_APP__PASSWORD_FILE", "password")
			t.Setenv("CFG_APP__NAME", "demo")
			c, err := config.New(formats, config.Env("CFG"))
			require.NoError(t, err)
			app, err := config.Bind[App](c, "app")
			require.NoError(t, err)
			assert.Equal(t, tt.want, app.Password)
		})
	}
}

func TestSecretFileRedactedWithoutATag(t *testing.T) {
	inDir(t, map[string]string{"token": "abc\n"})
	t.Setenv("CFG_API__TOKEN_FILE", "token")
	c, err := config.New(formats, config.Env("CFG"))
	require.NoError(t, err)
	assert.Equal(t, config.Entry{
		Key:    "api.token",
		Value:  "[redacted]",
		Source: "env CFG_API__TOKEN_FILE=token",
		Secret: true,
	}, entry(t, c, "api.token"), "a value read from a secret file is secret whatever binds it")
}

func TestSecretFileInDotEnv(t *testing.T) {
	inDir(t, map[string]string{"token": "abc\n", ".env": "CFG_API__TOKEN_FILE=token\n"})
	c, err := config.New(formats, config.DotEnv(".env", "CFG"))
	require.NoError(t, err)
	got, err := config.Bind[map[string]string](c, "api")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"token": "abc"}, got)
	assert.Equal(t, ".env:1 CFG_API__TOKEN_FILE=token", entry(t, c, "api.token").Source)
}

func TestSecretFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{
			name:    "missing file",
			env:     map[string]string{"CFG_APP__PASSWORD_FILE": "nope"},
			wantErr: `config: app.password = "nope" (env CFG_APP__PASSWORD_FILE): want a readable secret file: open nope: no such file or directory`,
		},
		{
			name:    "both the value and the file",
			env:     map[string]string{"CFG_APP__PASSWORD_FILE": "password", "CFG_APP__PASSWORD": "x"},
			wantErr: `config: app.password (env CFG_APP__PASSWORD_FILE=password): also set by env CFG_APP__PASSWORD; keep one`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"password": "s3cret"})
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := config.New(formats, config.Env("CFG"))
			assert.EqualError(t, err, tt.wantErr)
		})
	}
}

func TestSecretTagRedacts(t *testing.T) {
	inDir(t, map[string]string{"config.yaml": "app:\n  name: demo\n  password: hunter2\n  port: 0\n"})
	c, err := config.New(formats, config.File("config.yaml"))
	require.NoError(t, err)

	// Before anything says app.password is secret, nothing can know.
	assert.Equal(t, `"hunter2"`, entry(t, c, "app.password").Value)

	_, err = config.Bind[App](c, "app")
	require.EqualError(t, err, `config: app.port = 0 (config.yaml:4): want at least 1`)

	var out bytes.Buffer
	require.NoError(t, c.Print(&out))
	assert.NotContains(t, out.String(), "hunter2")
	assert.Contains(t, out.String(), "[redacted]")

	enc := zapcore.NewMapObjectEncoder()
	require.NoError(t, c.MarshalLogObject(enc))
	assert.Equal(t, "[redacted]", enc.Fields["app.password"])

	core, logs := observer.New(zapcore.InfoLevel)
	zap.New(core).Info("loaded", zap.Object("config", c))
	assert.Equal(t, map[string]any{
		"app.name":     `"demo"`,
		"app.password": "[redacted]",
		"app.port":     "0",
		"app.timeout":  `"5s"`,
	}, logs.All()[0].ContextMap()["config"])
}

func TestDefaultsDeclareSecrets(t *testing.T) {
	t.Setenv("CFG_APP__PASSWORD", "hunter2")
	c, err := config.New(formats, config.Defaults("app", App{}), config.Env("CFG"))
	require.NoError(t, err)
	assert.Equal(t, "[redacted]", entry(t, c, "app.password").Value)
}

func TestSecretInProblems(t *testing.T) {
	type Vault struct {
		Keys map[string]int `secret:"true"`
	}
	t.Setenv("CFG_VAULT__KEYS__MAIN", "hunter2")
	c, err := config.New(formats, config.Env("CFG"))
	require.NoError(t, err)
	_, err = config.Bind[Vault](c, "vault")
	assert.EqualError(t, err, `config: vault.keys.main = [redacted] (env CFG_VAULT__KEYS__MAIN): want an integer`)
	assert.Equal(t, "[redacted]", entry(t, c, "vault.keys.main").Value, "a secret section hides everything in it")
}
