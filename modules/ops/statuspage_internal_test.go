package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

// patience bounds every wait of these tests.
const patience = time.Minute

// fakeSupervisor answers Status with one running service, and holds its
// answers back while held is open.
type fakeSupervisor struct {
	asked chan struct{} // receives each question
	held  chan struct{} // closed to answer
}

func newFakeSupervisor() *fakeSupervisor {
	return &fakeSupervisor{asked: make(chan struct{}, 100), held: make(chan struct{})}
}

func (f *fakeSupervisor) Status() []lifecycle.Status {
	f.asked <- struct{}{}
	<-f.held
	return []lifecycle.Status{{Service: "worker", Mode: modes.SeparateThread, State: lifecycle.StateRunning}}
}

// pageServer serves a status page with a fake supervisor and a fake clock
// on 127.0.0.1.
func pageServer(t *testing.T, sup *fakeSupervisor, clock clockwork.Clock) (*statusPage, string) {
	t.Helper()
	s := defaultSettings()
	s.CheckTimeout, s.clock = patience, clock
	p := newStatusPage(liveness.New(sup.Status), s)
	mux := http.NewServeMux()
	p.routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		p.close()
		srv.Close()
	})
	return p, srv.URL + "/status/events"
}

// crashed is the event of the service's n-th crash.
func crashed(n int) lifecycle.Event {
	return &lifecycle.Crashed{Service: "worker", Err: fmt.Errorf("crash %d", n)}
}

func seqs(timeline []entry) []uint64 {
	out := make([]uint64, len(timeline))
	for i, en := range timeline {
		out[i] = en.Seq
	}
	return out
}

// A stream that cannot keep up loses events instead of holding up the
// app, and gets a new snapshot that holds them.
func TestSlowStreamIsDroppedAndResynced(t *testing.T) {
	sup := newFakeSupervisor()
	p, url := pageServer(t, sup, clockwork.NewRealClock())
	p.buffer = 4
	stream := OpenEventStream(t, url, patience)
	<-sup.asked // the stream is open and stuck on its first snapshot

	observed := make(chan struct{})
	go func() {
		defer close(observed)
		for i := 1; i <= 10; i++ {
			p.observe(crashed(i))
		}
	}()
	select {
	case <-observed:
	case <-time.After(patience):
		t.Fatal("the events waited for a stream")
	}
	close(sup.held)

	e := stream.NextEvent(t)
	require.Equal(t, "snapshot", e.Name)
	var first snapshot
	e.Decode(t, &first)
	assert.Empty(t, first.Timeline, "taken before the events")

	// The stream may pass on what its buffer held first; then the snapshot
	// comes, with all the events.
	var again snapshot
	for again.Timeline == nil {
		e := stream.NextEvent(t)
		switch e.Name {
		case "update":
			var u update
			e.Decode(t, &u)
			for _, en := range u.Timeline {
				assert.LessOrEqual(t, en.Seq, uint64(4), "only what the buffer held comes as an update")
			}
		case "snapshot":
			e.Decode(t, &again)
		default:
			t.Fatalf("event %q", e.Name)
		}
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, seqs(again.Timeline))
	assert.Equal(t, "crash 10", again.Timeline[9].Detail)
	require.Len(t, again.Services, 1)
	assert.Equal(t, "worker", again.Services[0].Name)

	// Back in step: the next event comes as an update of its own.
	p.observe(crashed(11))
	e = stream.NextEvent(t)
	require.Equal(t, "update", e.Name)
	var u update
	e.Decode(t, &u)
	assert.Equal(t, []uint64{11}, seqs(u.Timeline))
}

func TestStreamSendsHeartbeats(t *testing.T) {
	sup := newFakeSupervisor()
	close(sup.held)
	clock := clockwork.NewFakeClock()
	_, url := pageServer(t, sup, clock)
	stream := OpenEventStream(t, url, patience)
	assert.Equal(t, ServerEvent{Line: "retry: 2000"}, stream.Next(t))
	require.Equal(t, "snapshot", stream.Next(t).Name)

	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	require.NoError(t, clock.BlockUntilContext(ctx, 1), "the stream waits for its heartbeat")
	clock.Advance(heartbeatEvery)
	assert.Equal(t, ServerEvent{Line: ": heartbeat"}, stream.Next(t))
}

func TestStreamsAreBoundedAndEndWithThePage(t *testing.T) {
	sup := newFakeSupervisor()
	close(sup.held)
	p, url := pageServer(t, sup, clockwork.NewRealClock())
	var held []*stream
	for range maxStreams {
		s, _, err := p.subscribe()
		require.NoError(t, err)
		held = append(held, s)
	}
	resp, err := http.Get(url)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "one stream too many")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	p.unsubscribe(held[0])
	stream := OpenEventStream(t, url, patience)
	require.Equal(t, "snapshot", stream.NextEvent(t).Name, "room again once a stream ends")

	p.close()
	assert.True(t, stream.Ended())
	for _, s := range held[1:] {
		assert.True(t, isClosed(s.done))
	}
	_, _, err = p.subscribe()
	require.ErrorIs(t, err, errPageClosed)
	p.open()
	s, _, err := p.subscribe()
	require.NoError(t, err, "open again when the server starts again")
	p.unsubscribe(s)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestTimelineKeepsTheLastEvents(t *testing.T) {
	var r ring
	assert.Empty(t, r.list())
	for i := 1; i <= timelineLength+10; i++ {
		r.add(entry{Seq: uint64(i)})
		if i == 3 {
			assert.Equal(t, []uint64{1, 2, 3}, seqs(r.list()))
		}
	}
	got := seqs(r.list())
	require.Len(t, got, timelineLength)
	assert.Equal(t, uint64(11), got[0])
	assert.Equal(t, uint64(timelineLength+10), got[len(got)-1])
}

func TestViewOf(t *testing.T) {
	tests := []struct {
		give             string
		service          string
		replica          int
		err, wantLastErr string
	}{
		{give: "worker", service: "worker"},
		{give: "worker#2", service: "worker", replica: 2},
		{give: "a#b", service: "a#b"},
		{give: "api", service: "api", err: "token=abc", wantLastErr: "token=abc"},
		{give: "api", service: "api", err: strings.Repeat("é", maxErrorText), wantLastErr: strings.Repeat("é", maxErrorText/2-2) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			st := lifecycle.Status{Service: tt.give, Mode: modes.SeparateProcess, State: lifecycle.StateBackoff, PID: 7, TID: 8}
			if tt.err != "" {
				st.LastError = errors.New(tt.err)
			}
			v := viewOf(st)
			assert.Equal(t, tt.give, v.Name)
			assert.Equal(t, tt.service, v.Service)
			assert.Equal(t, tt.replica, v.Replica)
			assert.Equal(t, "SEPARATE_PROCESS", v.Mode)
			assert.Equal(t, "waiting to restart", v.State)
			assert.Equal(t, tt.wantLastErr, v.LastError)
			assert.LessOrEqual(t, len(v.LastError), maxErrorText)
			assert.Equal(t, []int{7, 8}, []int{v.PID, v.TID})
		})
	}
}

func TestEntryOf(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		give   lifecycle.Event
		kind   string
		detail string
		failed bool
	}{
		{&lifecycle.Starting{Service: "s", Mode: modes.SeparateThread}, "starting", "SEPARATE_THREAD", false},
		{&lifecycle.Started{Service: "s", PID: 1, TID: 2, Duration: time.Millisecond}, "started", "in 1ms (pid 1, tid 2)", false},
		{&lifecycle.Started{Service: "s", Err: boom}, "started", "failed to start: boom", true},
		{&lifecycle.Stopping{Service: "s"}, "stopping", "", false},
		{&lifecycle.Stopped{Service: "s", Duration: 2 * time.Millisecond}, "stopped", "in 2ms", false},
		{&lifecycle.Stopped{Service: "s", Err: boom}, "stopped", "stop failed: boom", true},
		{&lifecycle.Stopped{Service: "s", Err: boom, Detached: true}, "stopped", "detached: boom", true},
		{&lifecycle.Crashed{Service: "s", Err: boom, PID: 3, Stack: []byte("goroutine 1")}, "crashed", "boom (pid 3)", true},
		{&lifecycle.Exited{Service: "s"}, "exited", "", false},
		{&lifecycle.Exited{Service: "s", Err: lifecycle.ErrNoRestart}, "exited", lifecycle.ErrNoRestart.Error(), false},
		{&lifecycle.Restarting{Service: "s", Attempt: 2, Delay: 1500 * time.Millisecond, Cause: boom}, "restarting", "attempt 2 in 1.5s", false},
		{&lifecycle.GaveUp{Service: "s", Restarts: 5, Window: time.Minute, Cause: boom}, "gave up", "after 5 restarts within 1m0s: boom", true},
		{&lifecycle.Stalled{Service: "s", Loop: "main", Func: "pkg.F", Running: 2 * time.Second}, "stalled", "loop main held by pkg.F for 2s", true},
		{&lifecycle.Replacing{Service: "s", PID: 7}, "replacing", "pid 7", false},
		{&lifecycle.Replaced{Service: "s", OldPID: 7, PID: 8, Duration: 30 * time.Millisecond}, "replaced", "pid 7 by pid 8 in 30ms", false},
		{&lifecycle.Replaced{Service: "s", OldPID: 7, PID: 7, Err: boom}, "replaced", "failed, pid 7 serves on: boom", true},
	}
	at := time.Unix(1, 0)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T", tt.give), func(t *testing.T) {
			en := entryOf(tt.give, at)
			assert.Equal(t, entry{At: at, Service: "s", Kind: tt.kind, Detail: tt.detail, Failed: tt.failed}, en)
		})
	}
}

func TestClip(t *testing.T) {
	assert.Equal(t, "abc", clip("abc", 3))
	assert.Equal(t, "a…", clip("abcdef", 4), "the ellipsis takes 3 bytes")
	assert.Equal(t, "\uFFFDb", clip("\xffb", 10), "invalid UTF-8 is replaced")
	assert.Equal(t, "é…", clip("éééé", 6), "never half a rune")
}
