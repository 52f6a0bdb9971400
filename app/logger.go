package app

import (
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// Environment variables that override the default logger.
const (
	// EnvLogFormat is "json" or "console". Unset, the format is console when
	// stderr is a terminal and JSON lines otherwise.
	EnvLogFormat = "HOSTFX_LOG_FORMAT"
	// EnvLogLevel is a zap level name such as "debug" or "warn"; default info.
	EnvLogLevel = "HOSTFX_LOG_LEVEL"
)

// NewLogger builds the default logger: to stderr, JSON lines unless stderr
// is a terminal, as EnvLogFormat and EnvLogLevel say.
func NewLogger() (*zap.Logger, error) { return newLogger(zapcore.InfoLevel) }

// newLogger builds the default logger at level, unless EnvLogLevel names
// another.
func newLogger(level zapcore.Level) (*zap.Logger, error) {
	format := strings.ToLower(os.Getenv(EnvLogFormat))
	if format == "" {
		format = "json"
		if isTerminal(os.Stderr) {
			format = "console"
		}
	}
	if s := os.Getenv(EnvLogLevel); s != "" {
		if err := level.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("%s=%q: want debug, info, warn or error", EnvLogLevel, s)
		}
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	default:
		return nil, fmt.Errorf("%s=%q: want json or console", EnvLogFormat, format)
	}
	cfg.Level = zap.NewAtomicLevelAt(level)
	cfg.Sampling = nil
	cfg.DisableStacktrace = true // crash events carry their own stack field
	cfg.OutputPaths = []string{"stderr"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	return cfg.Build()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
