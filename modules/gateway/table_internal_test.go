package gateway

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
)

func TestMatch(t *testing.T) {
	var routes []*route
	for _, pattern := range []string{"/", "/api", "/api/v2/", "/static/", "shop.example/", "shop.example/api/"} {
		host, p, err := parsePattern(pattern)
		require.NoError(t, err)
		routes = append(routes, &route{host: host, path: p})
	}
	tab := newTable(routes)
	tests := []struct {
		host, path string
		want       string // the matching route's host and path
	}{
		{host: "x", path: "/", want: "/"},
		{host: "x", path: "/api", want: "/api"},
		{host: "x", path: "/api/", want: "/api"},
		{host: "x", path: "/api/v1", want: "/api"},
		{host: "x", path: "/apis", want: "/"},
		{host: "x", path: "/api/v2", want: "/api"}, // "/api/v2/" covers the path with its slash only
		{host: "x", path: "/api/v2/x", want: "/api/v2/"},
		{host: "x", path: "/static", want: "/"},
		{host: "shop.example", path: "/api/v2/x", want: "shop.example/api/"},
		{host: "Shop.Example:8080", path: "/x", want: "shop.example/"},
		{host: "shop.example.", path: "/x", want: "shop.example/"},
		{host: "[::1]:8080", path: "/static/x", want: "/static/"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			r := tab.match(tt.host, tt.path)
			require.NotNil(t, r)
			assert.Equal(t, tt.want, r.host+r.path)
		})
	}

	only := newTable([]*route{{host: "shop.example", path: "/"}})
	assert.Nil(t, only.match("other.example", "/"), "an unknown host")
}

func TestIsClean(t *testing.T) {
	for give, want := range map[string]bool{
		"/": true, "/a": true, "/a/": true, "/a/b.txt": true, "/a/.well-known/x": true,
		"": false, "a": false, "//": false, "/a//b": false, "/a/./b": false, "/a/../b": false, "/..": false, "/a/.": false,
	} {
		assert.Equal(t, want, isClean(give), give)
	}
}

func TestMembers(t *testing.T) {
	statuses := []lifecycle.Status{{Service: "api"}, {Service: "worker#1"}, {Service: "worker#2"}, {Service: "worker#x"}, {Service: "workers"}}
	assert.Equal(t, []member{{service: "api"}}, members("api", statuses))
	assert.Equal(t, []member{{service: "worker#1", replica: 1}, {service: "worker#2", replica: 2}}, members("worker", statuses))
	assert.Equal(t, []member{{service: "worker#2", replica: 2}}, members("worker#2", statuses))
	assert.Empty(t, members("work", statuses))
}

func TestRetryAfter(t *testing.T) {
	clock := clockwork.NewFakeClock()
	st := newStates(clock)
	status := []lifecycle.Status{
		{Service: "a", State: lifecycle.StateBackoff},
		{Service: "b", State: lifecycle.StateBackoff},
		{Service: "c", State: lifecycle.StateStarting},
		{Service: "d", State: lifecycle.StateFailed},
		{Service: "e", State: lifecycle.StateExited},
		{Service: "f", State: lifecycle.StateBackoff}, // its event is not seen yet
	}
	st.status = func() []lifecycle.Status { return status }
	st.observe(&lifecycle.Restarting{Service: "a", Delay: 90 * time.Second})
	st.observe(&lifecycle.Restarting{Service: "b", Delay: 30 * time.Second})
	clock.Advance(10 * time.Second)

	tests := []struct {
		give    []string
		want    int
		wantOK  bool
		comment string
	}{
		{give: []string{"a"}, want: 80, wantOK: true},
		{give: []string{"a", "b"}, want: 20, wantOK: true, comment: "the first to come back"},
		{give: []string{"a", "c"}, want: 1, wantOK: true, comment: "starting"},
		{give: []string{"f"}, want: 1, wantOK: true},
		{give: []string{"d", "e"}, wantOK: false, comment: "none comes back by itself"},
		{give: []string{"d", "b"}, want: 20, wantOK: true},
	}
	snap := st.current()
	for _, tt := range tests {
		got, ok := st.retryAfter(snap, tt.give)
		assert.Equal(t, tt.wantOK, ok, "%v %s", tt.give, tt.comment)
		if tt.wantOK {
			assert.Equal(t, tt.want, got, "%v %s", tt.give, tt.comment)
		}
	}
	clock.Advance(time.Hour)
	got, _ := st.retryAfter(snap, []string{"a"})
	assert.Equal(t, 1, got, "a late restart")
}

// The snapshot is read again after each event, and only then.
func TestSnapshotFollowsEvents(t *testing.T) {
	st := newStates(clockwork.NewFakeClock())
	reads := 0
	state := lifecycle.StateStarting
	st.status = func() []lifecycle.Status {
		reads++
		return []lifecycle.Status{{Service: "a", State: state}}
	}
	assert.False(t, st.current().running("a"))
	assert.False(t, st.current().running("a"))
	assert.Equal(t, 1, reads)
	state = lifecycle.StateRunning
	st.observe(&lifecycle.Started{Service: "a"})
	assert.True(t, st.current().running("a"))
	assert.Equal(t, 2, reads)
}
