package ops_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/ops"
)

// crashable runs until it is stopped, or fails with the next error sent
// on crash.
type crashable struct{ crash chan error }

func newCrashable() *crashable { return &crashable{crash: make(chan error)} }

func (c *crashable) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-c.crash:
		return err
	}
}

// statusApp starts an app with an idle "api", the crashable service
// given, restarted at once, and the ops module; it returns the ops
// server's address.
func statusApp(t *testing.T, name string, c *crashable, opts ...fx.Option) (*app.App, string) {
	t.Helper()
	var srv *ops.Server
	a := app.New(quiet, fx.Options(opts...),
		app.Service("api", newIdle, modes.SeparateThread),
		app.Service(name, func() *crashable { return c }, modes.SeparateThread, lifecycle.Restart(lifecycle.Immediate())),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	started(t, a)
	return a, srv.Addr()
}

// crash makes c fail once with err.
func crash(t *testing.T, c *crashable, err error) {
	t.Helper()
	select {
	case c.crash <- err:
	case <-t.Context().Done():
		t.Fatal("the service did not run")
	}
}

// byName returns the view of the service called name.
func byName(t *testing.T, services []ops.ServiceView, name string) ops.ServiceView {
	t.Helper()
	i := slices.IndexFunc(services, func(v ops.ServiceView) bool { return v.Name == name })
	require.GreaterOrEqual(t, i, 0, "no service %q in %+v", name, services)
	return services[i]
}

func TestStatusPageStreamsASnapshotThenEachEvent(t *testing.T) {
	c := newCrashable()
	_, addr := statusApp(t, "flaky", c)
	stream := ops.OpenEventStream(t, "http://"+addr+"/status/events", patience)

	var snap ops.StatusSnapshot
	first := stream.NextEvent(t)
	require.Equal(t, "snapshot", first.Name)
	first.Decode(t, &snap)
	assert.Empty(t, snap.Error)
	require.Len(t, snap.Services, 2)
	for _, v := range snap.Services {
		assert.Equal(t, "running", v.State, v.Name)
		assert.Equal(t, "SEPARATE_THREAD", v.Mode, v.Name)
		assert.Equal(t, 0, v.Restarts, v.Name)
		assert.Positive(t, v.PID, v.Name)
		assert.Positive(t, v.TID, v.Name)
	}
	var kinds []string
	for _, en := range snap.Timeline {
		kinds = append(kinds, en.Service+" "+en.Kind)
	}
	assert.Equal(t, []string{"api starting", "api started", "flaky starting", "flaky started"}, kinds,
		"the snapshot holds the events before it")
	seq := snap.Timeline[len(snap.Timeline)-1].Seq

	crash(t, c, errors.New("connection refused"))
	kinds = nil
	var flaky ops.ServiceView
	for !slices.Contains(kinds, "started") {
		e := stream.NextEvent(t)
		require.Equal(t, "update", e.Name)
		var u ops.StatusUpdate
		e.Decode(t, &u)
		require.NotEmpty(t, u.Timeline)
		for _, en := range u.Timeline {
			seq++
			require.Equal(t, seq, en.Seq, "every event once, in order")
			assert.Equal(t, "flaky", en.Service)
			kinds = append(kinds, en.Kind)
		}
		require.Len(t, u.Services, 1, "the services the events concern")
		flaky = byName(t, u.Services, "flaky")
	}
	assert.Equal(t, []string{"crashed", "restarting", "starting", "started"}, kinds)
	assert.Equal(t, "running", flaky.State)
	assert.Equal(t, 1, flaky.Restarts)
	assert.Equal(t, "connection refused", flaky.LastError)
	assert.False(t, flaky.LastErrorAt.IsZero())
}

func TestStatusPageEscapesWhatServicesSay(t *testing.T) {
	const name = "<b>flaky</b>&co"
	c := newCrashable()
	_, addr := statusApp(t, name, c)
	stream := ops.OpenEventStream(t, "http://"+addr+"/status/events", patience)
	require.Equal(t, "snapshot", stream.NextEvent(t).Name)

	// A newline in an error must not end the event and start one of its own.
	const evil = "<script>alert(1)</script>\n\nevent: snapshot\ndata: {\"services\":[]}\n\n"
	crash(t, c, errors.New(evil))
	for {
		e := stream.NextEvent(t)
		require.Equal(t, "update", e.Name, "only the app's own events")
		var u ops.StatusUpdate
		e.Decode(t, &u)
		if u.Timeline[0].Kind == "crashed" {
			assert.Equal(t, name, u.Timeline[0].Service)
			assert.True(t, strings.HasPrefix(u.Timeline[0].Detail, evil), u.Timeline[0].Detail)
			v := byName(t, u.Services, name)
			assert.Equal(t, evil, v.LastError, "the text arrives as it was")
			assert.Equal(t, name, v.Service)
			break
		}
	}
	assert.NotContains(t, stream.Raw.String(), "<", "HTML in the data is escaped")
	assert.NotContains(t, stream.Raw.String(), ">")
}

func TestStatusPageIsStaticAndLocked(t *testing.T) {
	_, addr := statusApp(t, "flaky", newCrashable())
	resp, err := http.Get("http://" + addr + "/status")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "/status/", resp.Request.URL.Path, "/status leads to the page")

	tests := []struct {
		path, contentType string
		want              string
	}{
		{"/status/", "text/html; charset=utf-8", `<script src="page.js" defer></script>`},
		{"/status/page.js", "text/javascript; charset=utf-8", `new EventSource("events")`},
		{"/status/page.css", "text/css; charset=utf-8", ".mark.crashed"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get("http://" + addr + tt.path)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))
			assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self';",
				"no inline script runs, should some HTML get through")
			code, body := get(t, addr, tt.path)
			assert.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, tt.want)
			for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				assert.NotContains(t, body, sink, "the page never parses data as HTML or code")
			}
		})
	}
}

func TestStatusPageStreamsEndWhenTheAppStops(t *testing.T) {
	c := newCrashable()
	var srv *ops.Server
	a := app.New(quiet,
		app.Service("flaky", func() *crashable { return c }, modes.SeparateThread),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, a.Start(ctx))
	stream := ops.OpenEventStream(t, "http://"+srv.Addr()+"/status/events", patience)
	require.Equal(t, "snapshot", stream.NextEvent(t).Name)

	// The server's shutdown waits for connections to go idle, which a
	// stream never does: without the module ending them, Stop would spend
	// its whole budget and fail.
	require.NoError(t, a.Stop(ctx))
	assert.True(t, stream.Ended(), "the server ended the stream")
	assert.Contains(t, stream.Raw.String(), `"kind":"stopped"`, "the stream saw the services stop")
}
