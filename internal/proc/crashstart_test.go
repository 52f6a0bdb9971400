package proc

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCrashStart(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"panic: boom", true},
		{"fatal error: all goroutines are asleep - deadlock!", true},
		{"SIGSEGV: segmentation violation", true},
		{"SIGQUIT: quit", true},
		{"WARNING: DATA RACE", true},
		{"SIG: not a signal", false},
		{"SIGsegv: lower case", false},
		{"a line that says panic: later", false},
		{"goroutine 1 [running]:", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, crashStart([]byte(tt.give)), tt.give)
	}
}
