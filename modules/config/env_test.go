package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hostfx/hostfx/modules/config"
)

func TestEnvKey(t *testing.T) {
	tests := []struct {
		give   string
		want   string
		wantOK bool
	}{
		{give: "CFG_APP__PORT", want: "app.port", wantOK: true},
		{give: "CFG_PORT", want: "port", wantOK: true},
		{give: "CFG_SERVICES__WORKER__START_TIMEOUT", want: "services.worker.start_timeout", wantOK: true},
		{give: "CFG_App__Port2", want: "app.port2", wantOK: true},
		{give: "CFG_APP___PORT", want: "app._port", wantOK: true},
		{give: "CFG_", wantOK: false},
		{give: "OTHER_APP__PORT", wantOK: false},
		{give: "cfg_APP__PORT", wantOK: false},
		{give: "CFG___APP", wantOK: false},
		{give: "CFG_APP__", wantOK: false},
		{give: "CFG_APP____PORT", wantOK: false},
		{give: "CFG_APP.PORT", wantOK: false},
		{give: "CFG_APP-PORT", wantOK: false},
		{give: "CFG_ÄPP", wantOK: false},
	}
	for _, tt := range tests {
		got, ok := config.EnvKey("CFG_", "__", tt.give)
		assert.Equal(t, tt.wantOK, ok, tt.give)
		assert.Equal(t, tt.want, got, tt.give)
	}
}

// FuzzEnvKey checks the mapping's promises on any name: a key it accepts
// is lower case, has no empty section, and maps back to the same name.
func FuzzEnvKey(f *testing.F) {
	for _, seed := range []string{
		"CFG_APP__PORT", "CFG_A", "CFG_", "CFG__", "CFG___", "CFG_A__B__C", "CFG_a_b",
		"CFG_A____B", "CFG_A.B", "CFG_Ä", "APP_PORT", "", "CFG_A__", "CFG_1__2",
	} {
		f.Add(seed)
	}
	const prefix, sep = "CFG_", "__"
	f.Fuzz(func(t *testing.T, name string) {
		key, ok := config.EnvKey(prefix, sep, name)
		if !ok {
			if key != "" {
				t.Fatalf("EnvKey(%q) = %q, false: want no key when not ok", name, key)
			}
			return
		}
		if !strings.HasPrefix(name, prefix) {
			t.Fatalf("EnvKey(%q) accepted a name without the prefix", name)
		}
		if key != strings.ToLower(key) {
			t.Fatalf("EnvKey(%q) = %q: want lower case", name, key)
		}
		for _, section := range strings.Split(key, ".") {
			if section == "" {
				t.Fatalf("EnvKey(%q) = %q: empty section", name, key)
			}
		}
		back := prefix + strings.ToUpper(strings.ReplaceAll(key, ".", sep))
		if back != prefix+strings.ToUpper(name[len(prefix):]) {
			t.Fatalf("EnvKey(%q) = %q, which maps back to %q", name, key, back)
		}
		if again, ok := config.EnvKey(prefix, sep, back); !ok || again != key {
			t.Fatalf("EnvKey(%q) = %q, %v: want %q back", back, again, ok, key)
		}
	})
}
