package proc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A child's log line reaches the app's log at its own level, with its own
// fields, without the child's own timestamp, service and pid (the relaying
// logger names those); a line that is not a log line is a warning as it
// is; and a child's fatal or panic line is an error here, so the parent
// never acts on it.
func TestRelay(t *testing.T) {
	tests := []struct {
		name       string
		give       string
		wantLevel  zapcore.Level
		wantMsg    string
		wantFields map[string]any
	}{
		{
			name:       "info line",
			give:       `{"level":"info","ts":1.5,"msg":"listening","service":"api","pid":42,"port":8080,"ratio":0.5,"tag":"x"}`,
			wantLevel:  zapcore.InfoLevel,
			wantMsg:    "listening",
			wantFields: map[string]any{"port": int64(8080), "ratio": 0.5, "tag": "x"},
		},
		{
			name:       "error line",
			give:       `{"level":"error","msg":"lost connection","error":"EOF"}`,
			wantLevel:  zapcore.ErrorLevel,
			wantMsg:    "lost connection",
			wantFields: map[string]any{"error": "EOF"},
		},
		{
			name:       "fatal line",
			give:       `{"level":"fatal","msg":"cannot go on"}`,
			wantLevel:  zapcore.ErrorLevel,
			wantMsg:    "cannot go on",
			wantFields: map[string]any{"child_level": "fatal"},
		},
		{
			name:       "plain text",
			give:       `panic: runtime error: index out of range`,
			wantLevel:  zapcore.WarnLevel,
			wantMsg:    "panic: runtime error: index out of range",
			wantFields: map[string]any{"stream": "stderr"},
		},
		{
			name:       "broken json",
			give:       `{"level":"info","msg":`,
			wantLevel:  zapcore.WarnLevel,
			wantMsg:    `{"level":"info","msg":`,
			wantFields: map[string]any{"stream": "stderr"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			relay(zap.New(core), []byte(tt.give))
			require.Equal(t, 1, logs.Len())
			e := logs.All()[0]
			assert.Equal(t, tt.wantLevel, e.Level)
			assert.Equal(t, tt.wantMsg, e.Message)
			assert.Equal(t, tt.wantFields, e.ContextMap())
		})
	}
}

// A line below the app's level is dropped, and costs no fields.
func TestRelayBelowTheLevel(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	relay(zap.New(core), []byte(`{"level":"debug","msg":"detail"}`))
	assert.Zero(t, logs.Len())
}
