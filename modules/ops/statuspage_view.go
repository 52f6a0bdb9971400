package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hostfx/hostfx/lifecycle"
)

// Bounds of the text the status page shows, so that one service's huge
// error cannot make every message of the stream huge.
const (
	maxErrorText  = 2 << 10 // a service's last error
	maxDetailText = 512     // one entry of the timeline
)

// serviceView is one service as the status page shows it: what Status
// says, with its name split into the service and its replica.
type serviceView struct {
	Name        string    `json:"name"`              // as in Status: worker#2
	Service     string    `json:"service"`           // worker
	Replica     int       `json:"replica,omitempty"` // 2; 0 without replicas
	Mode        string    `json:"mode"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	Restarts    int       `json:"restarts"`
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	PID         int       `json:"pid,omitempty"`
	TID         int       `json:"tid,omitempty"`
}

func viewOf(st lifecycle.Status) serviceView {
	v := serviceView{
		Name: st.Service, Service: st.Service, Mode: st.Mode.String(), State: st.State.String(),
		Since: st.Since, Restarts: st.Restarts, LastErrorAt: st.LastErrorAt, PID: st.PID, TID: st.TID,
	}
	if base, n, ok := strings.Cut(st.Service, "#"); ok {
		if i, err := strconv.Atoi(n); err == nil {
			v.Service, v.Replica = base, i
		}
	}
	if st.LastError != nil {
		v.LastError = clip(st.LastError.Error(), maxErrorText)
	}
	return v
}

// entry is one lifecycle event in the status page's timeline.
type entry struct {
	Seq     uint64    `json:"seq"` // the order the page received the events in, from 1
	At      time.Time `json:"at"`
	Service string    `json:"service"`
	Kind    string    `json:"kind"` // starting, started, crashed, restarting, ...
	Detail  string    `json:"detail,omitempty"`
	// Failed marks an event that reports a failure: a crash, a start or
	// stop that failed, a service that gave up, a stall.
	Failed bool `json:"failed,omitempty"`
}

// entryOf describes e for the timeline; Seq is left to the caller. It
// leaves out what an event carries that the page must not show: the
// settings' sources and the stacks.
func entryOf(e lifecycle.Event, at time.Time) entry {
	en := entry{At: at}
	switch e := e.(type) {
	case *lifecycle.Starting:
		en.Service, en.Kind, en.Detail = e.Service, "starting", e.Mode.String()
	case *lifecycle.Started:
		en.Service, en.Kind = e.Service, "started"
		if e.Err != nil {
			en.Failed, en.Detail = true, "failed to start: "+e.Err.Error()
		} else {
			en.Detail = fmt.Sprintf("in %v%s", e.Duration.Round(time.Microsecond), where(e.PID, e.TID))
		}
	case *lifecycle.Stopping:
		en.Service, en.Kind = e.Service, "stopping"
	case *lifecycle.Stopped:
		en.Service, en.Kind = e.Service, "stopped"
		switch {
		case e.Detached:
			en.Failed, en.Detail = true, "detached: "+e.Err.Error()
		case e.Err != nil:
			en.Failed, en.Detail = true, "stop failed: "+e.Err.Error()
		default:
			en.Detail = fmt.Sprintf("in %v", e.Duration.Round(time.Microsecond))
		}
	case *lifecycle.Crashed:
		en.Service, en.Kind, en.Failed = e.Service, "crashed", true
		en.Detail = errorText(e.Err) + where(e.PID, e.TID)
	case *lifecycle.Exited:
		en.Service, en.Kind = e.Service, "exited"
		if e.Err != nil {
			en.Detail = e.Err.Error()
		}
	case *lifecycle.Restarting:
		en.Service, en.Kind = e.Service, "restarting"
		en.Detail = fmt.Sprintf("attempt %d in %v", e.Attempt, e.Delay.Round(time.Millisecond))
	case *lifecycle.GaveUp:
		en.Service, en.Kind, en.Failed = e.Service, "gave up", true
		en.Detail = fmt.Sprintf("after %d restarts within %v: %s", e.Restarts, e.Window, errorText(e.Cause))
	case *lifecycle.Replacing:
		en.Service, en.Kind = e.Service, "replacing"
		en.Detail = fmt.Sprintf("pid %d", e.PID)
	case *lifecycle.Replaced:
		en.Service, en.Kind = e.Service, "replaced"
		switch {
		case e.Err != nil && e.PID == e.OldPID:
			en.Failed, en.Detail = true, "failed, pid "+fmt.Sprint(e.OldPID)+" serves on: "+errorText(e.Err)
		case e.Err != nil:
			en.Failed, en.Detail = true, fmt.Sprintf("pid %d by pid %d; the old one's stop: %s", e.OldPID, e.PID, errorText(e.Err))
		default:
			en.Detail = fmt.Sprintf("pid %d by pid %d in %v", e.OldPID, e.PID, e.Duration.Round(time.Millisecond))
		}
	case *lifecycle.Stalled:
		en.Service, en.Kind, en.Failed = e.Service, "stalled", true
		en.Detail = fmt.Sprintf("loop %s held by %s for %v", e.Loop, e.Func, e.Running.Round(time.Millisecond))
	default:
		en.Kind = fmt.Sprintf("%T", e)
	}
	en.Detail = clip(en.Detail, maxDetailText)
	return en
}

// where says where a run was: " (pid 12, tid 34)", or "" when neither is known.
func where(pid, tid int) string {
	switch {
	case pid > 0 && tid > 0:
		return fmt.Sprintf(" (pid %d, tid %d)", pid, tid)
	case pid > 0:
		return fmt.Sprintf(" (pid %d)", pid)
	case tid > 0:
		return fmt.Sprintf(" (tid %d)", tid)
	}
	return ""
}

func errorText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// clip cuts s to at most limit bytes, on a rune boundary, and says so
// with an ellipsis.
func clip(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
