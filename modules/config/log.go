package config

import (
	"fmt"

	"go.uber.org/zap/zapcore"
)

// wantLevel says what log.level takes.
const wantLevel = "want debug, info, warn, error, dpanic, panic or fatal"

// logLevel is what the log.level key sets.
type logLevel struct {
	level  zapcore.Level
	source string
	set    bool
}

// LogLevel returns the level that the log.level key sets for the app's
// logger, where the value came from, and whether any source sets it.
// Module and Supply hand it to the app, where it overrides app.LogLevel,
// as services.<name> sections override what code registered.
func (c *Config) LogLevel() (level zapcore.Level, source string, ok bool) {
	return c.log.level, c.log.source, c.log.set
}

// parseLogLevel reads log.level, so a bad level is reported by New.
func (c *Config) parseLogLevel(ps *problems) logLevel {
	raw := c.raw(logLevelKey)
	if raw == nil {
		return logLevel{}
	}
	src := c.sourceOf(logLevelKey)
	s, ok := toText(raw)
	var l zapcore.Level
	if !ok || s == "" || l.UnmarshalText([]byte(s)) != nil {
		ps.add(&Problem{Key: logLevelKey, Value: render(raw, false), Source: src, Reason: wantLevel})
		return logLevel{}
	}
	return logLevel{level: l, source: fmt.Sprintf("%s (%s)", logLevelKey, src), set: true}
}
