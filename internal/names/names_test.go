package names

import "testing"

func TestKey(t *testing.T) {
	tests := []struct{ give, want string }{
		{"SEPARATE_THREAD", "separatethread"},
		{" separate-thread ", "separatethread"},
		{"separateThread", "separatethread"},
		{"on failure", "onfailure"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Key(tt.give); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
