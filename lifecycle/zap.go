package lifecycle

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ZapObserver returns an Observer that logs every event to log with the
// fields event, service, mode, pid, tid, duration and, on failures, error
// and stack. The log message is the event name.
func ZapObserver(log *zap.Logger) Observer {
	// The caller would always be this file; the service field says who.
	log = log.WithOptions(zap.WithCaller(false))
	return func(e Event) {
		level, name := levelAndName(e)
		ce := log.Check(level, name)
		if ce == nil {
			return // disabled: build no fields
		}
		ce.Write(fields(e, name)...)
	}
}

func levelAndName(e Event) (zapcore.Level, string) {
	switch e := e.(type) {
	case *Starting:
		return zapcore.InfoLevel, "starting"
	case *Started:
		if e.Err != nil {
			return zapcore.ErrorLevel, "start-failed"
		}
		return zapcore.InfoLevel, "started"
	case *Stopping:
		return zapcore.InfoLevel, "stopping"
	case *Stopped:
		switch {
		case e.Detached:
			return zapcore.ErrorLevel, "detached"
		case e.Err != nil:
			return zapcore.ErrorLevel, "stop-failed"
		}
		return zapcore.InfoLevel, "stopped"
	case *Crashed:
		return zapcore.ErrorLevel, "crashed"
	case *Exited:
		return zapcore.InfoLevel, "exited"
	case *Stalled:
		return zapcore.WarnLevel, "stalled"
	case *Restarting:
		return zapcore.WarnLevel, "restarting"
	case *GaveUp:
		return zapcore.ErrorLevel, "gave-up"
	case *Replacing:
		return zapcore.InfoLevel, "replacing"
	case *Replaced:
		if e.Err != nil {
			return zapcore.ErrorLevel, "replace-failed"
		}
		return zapcore.InfoLevel, "replaced"
	}
	return zapcore.WarnLevel, "unknown"
}

func fields(e Event, name string) []zap.Field {
	f := []zap.Field{zap.String("event", name)}
	switch e := e.(type) {
	case *Starting:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Duration("start_timeout", e.Settings.StartTimeout), zap.Duration("stop_timeout", e.Settings.StopTimeout),
			zap.Bool("wait_for_ready", e.Settings.WaitForReady), zap.Stringer("restart", e.Settings.Restart),
			zap.Stringer("policy", e.Settings.Policy))
		if e.Settings.Watchdog > 0 {
			f = append(f, zap.Duration("watchdog", e.Settings.Watchdog))
		}
		if len(e.Sources) > 0 {
			f = append(f, zap.Any("sources", e.Sources))
		}
	case *Started:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Int("pid", e.PID), zap.Int("tid", e.TID), zap.Duration("duration", e.Duration))
		if e.Err != nil {
			f = append(f, zap.Error(e.Err))
		}
	case *Stopping:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode))
	case *Stopped:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode), zap.Duration("duration", e.Duration))
		if e.Err != nil {
			f = append(f, zap.Error(e.Err))
		}
		if len(e.Stack) > 0 {
			f = append(f, zap.ByteString("stack", e.Stack))
		}
	case *Crashed:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Int("pid", e.PID), zap.Int("tid", e.TID), zap.Error(e.Err))
		if len(e.Stack) > 0 {
			f = append(f, zap.ByteString("stack", e.Stack))
		}
	case *Exited:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Int("pid", e.PID), zap.Int("tid", e.TID))
		if e.Err != nil {
			f = append(f, zap.Error(e.Err))
		}
	case *Restarting:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Int("attempt", e.Attempt), zap.Duration("delay", e.Delay), zap.Error(e.Cause))
	case *GaveUp:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Int("restarts", e.Restarts), zap.Duration("window", e.Window), zap.Error(e.Cause))
	case *Replacing:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode), zap.Int("pid", e.PID))
	case *Replaced:
		f = append(f, zap.String("service", e.Service), zap.Stringer("mode", e.Mode),
			zap.Int("old_pid", e.OldPID), zap.Int("pid", e.PID), zap.Duration("duration", e.Duration))
		if e.Err != nil {
			f = append(f, zap.Error(e.Err))
		}
	case *Stalled:
		f = append(f, zap.String("service", e.Service), zap.String("loop", e.Loop),
			zap.String("func", e.Func), zap.Duration("running", e.Running))
	}
	return f
}
