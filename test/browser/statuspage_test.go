package browser

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/ops"
)

// What the crashing service says is HTML, to show that the page never
// reads it as such.
const (
	flakyName = "flaky <img src=x onerror=alert(1)>"
	flakyErr  = "<b>boom</b> & <script>alert(2)</script>"
)

// crashable runs until it is stopped, or fails with the next error sent
// on crash.
type crashable struct{ crash chan error }

func (c *crashable) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-c.crash:
		return err
	}
}

type idle struct{}

func (idle) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// row is a service's row of the page, as the browser shows it.
type row struct {
	Name      string   `json:"name"`
	Service   string   `json:"service"`
	Replica   string   `json:"replica"`
	Mode      string   `json:"mode"`
	State     string   `json:"state"`
	PID       string   `json:"pid"`
	TID       string   `json:"tid"`
	Restarts  string   `json:"restarts"`
	LastError string   `json:"lastError"`
	Marks     []string `json:"marks"` // the kinds in the restart timeline
}

// page is what the test reads of the page.
type page struct {
	Connection string   `json:"connection"`
	Rows       []row    `json:"rows"`
	Timeline   []string `json:"timeline"` // "service event" for each row, newest first
	Injected   int      `json:"injected"` // elements that came from a service's text
}

// readPage is a JavaScript expression for the page as the browser shows
// it, in the shape of page.
const readPage = `(() => {
	const text = (tr, cls) => { const td = tr.querySelector("td." + cls); return td ? td.textContent : null; };
	return {
		connection: document.body.dataset.connection || "",
		rows: [...document.querySelectorAll("#services tbody tr")].map(tr => ({
			name: tr.dataset.name,
			service: text(tr, "service"),
			replica: text(tr, "replica"),
			mode: text(tr, "mode"),
			state: tr.querySelector("td.state").firstChild.nodeValue,
			pid: text(tr, "pid"),
			tid: text(tr, "tid"),
			restarts: text(tr, "restarts"),
			lastError: text(tr, "error"),
			marks: [...tr.querySelectorAll(".mark")].map(m => m.dataset.kind),
		})),
		timeline: [...document.querySelectorAll("#timeline tbody tr")].map(tr => tr.cells[1].textContent + " " + tr.cells[2].textContent),
		injected: document.querySelectorAll("img, b, script:not([src])").length,
	};
})()`

// waitFor polls the page in the browser until cond, a JavaScript
// expression about p (the page as readPage reads it), holds, and returns
// the page then. It fails the test with the page's last state after
// patience.
func waitFor(ctx context.Context, t *testing.T, what, cond string) page {
	t.Helper()
	expr := "(() => { const p = " + readPage + "; return (" + cond + ") ? p : false; })()"
	got, err := chromedp.Run(ctx, chromedp.Poll[page](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(patience)))
	if err != nil {
		last, _ := chromedp.Run(ctx, chromedp.Evaluate[page](readPage))
		t.Fatalf("waiting for %s: %v; the page shows %+v", what, err, last)
	}
	return got
}

func TestStatusPageShowsARestartLive(t *testing.T) {
	flaky := &crashable{crash: make(chan error)}
	var srv *ops.Server
	a := app.New(app.Logger(zap.NewNop()), fx.NopLogger,
		app.Service("api", func() idle { return idle{} }, modes.SeparateThread, lifecycle.Replicas(2)),
		app.Service(flakyName, func() *crashable { return flaky }, modes.SeparateThread, lifecycle.Restart(lifecycle.Immediate())),
		ops.Module(ops.Addr("127.0.0.1:0")),
		fx.Populate(&srv),
	)
	require.NoError(t, a.Err())
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		assert.NoError(t, a.Stop(ctx))
	})

	tab := browser(t)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate("http://"+srv.Addr()+"/status")))

	p := waitFor(tab, t, "every service running", `p.connection === "live" && p.rows.length === 3 && p.rows.every(r => r.state === "running")`)
	pid := strconv.Itoa(os.Getpid())
	want := []row{
		{Name: "api#1", Service: "api", Replica: "#1"},
		{Name: "api#2", Service: "api", Replica: "#2"},
		{Name: flakyName, Service: flakyName},
	}
	for i, r := range p.Rows {
		assert.Equal(t, want[i].Name, r.Name)
		assert.Equal(t, want[i].Service, r.Service, "the name as text")
		assert.Equal(t, want[i].Replica, r.Replica)
		assert.Equal(t, "SEPARATE_THREAD", r.Mode)
		assert.Equal(t, pid, r.PID)
		assert.NotEmpty(t, r.TID, "a thread of its own")
		assert.NotEqual(t, pid, r.TID)
		assert.Equal(t, "0", r.Restarts)
		assert.Empty(t, r.LastError)
		assert.Equal(t, []string{"started"}, r.Marks)
	}
	assert.Contains(t, p.Timeline, flakyName+" started")

	select {
	case flaky.crash <- errors.New(flakyErr):
	case <-ctx.Done():
		t.Fatal("the service did not run")
	}
	p = waitFor(tab, t, "the restart", `(() => {
		const f = p.rows.find(r => r.name === `+strconv.Quote(flakyName)+`);
		return f && f.restarts === "1" && f.state === "running" && f.marks.includes("crashed") && f.marks.at(-1) === "started";
	})()`)
	f := p.Rows[2]
	assert.Equal(t, flakyErr, f.LastError, "the error as text")
	assert.Equal(t, []string{"started", "crashed", "restarting", "started"}, f.Marks)
	assert.Equal(t, []string{flakyName + " started", flakyName + " starting", flakyName + " restarting", flakyName + " crashed"}, p.Timeline[:4],
		"the timeline, newest first")
	assert.Zero(t, p.Injected, "no element came from a service's name or error")
	for _, r := range p.Rows[:2] {
		assert.Equal(t, "0", r.Restarts, r.Name)
		assert.Equal(t, "running", r.State, r.Name)
	}

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := filepath.Join(t.ArtifactDir(), "statuspage.png")
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)
}
