package ops

import (
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// pageFiles are the status page: HTML, CSS and plain JavaScript, served
// as they are, with no build step and nothing fetched from elsewhere.
//
//go:embed statuspage
var pageFiles embed.FS

// pagePolicy lets the page run its own script and style and reach its own
// stream, and nothing else: no inline script, no other origin, no frames.
const pagePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// routes adds the status page to mux: the page at /status/ (the mux
// redirects /status there), its script and style beside it, and its
// event stream at /status/events.
func (p *statusPage) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /status/{$}", serveFile("statuspage/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /status/page.js", serveFile("statuspage/page.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /status/page.css", serveFile("statuspage/page.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /status/events", p.serveEvents)
}

func serveFile(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		body, err := pageFiles.ReadFile(name)
		if err != nil { // embedded at build time: cannot happen
			writeText(w, http.StatusInternalServerError, err.Error()+"\n")
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Content-Security-Policy", pagePolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	}
}

// serveEvents streams the page's server-sent events: a snapshot, then an
// update for each batch of events, a heartbeat comment every
// heartbeatEvery so that proxies keep the connection open, and a new
// snapshot whenever the stream fell behind and lost events.
func (p *statusPage) serveEvents(w http.ResponseWriter, r *http.Request) {
	s, timeline, err := p.subscribe()
	if err != nil {
		w.Header().Set("Retry-After", "2")
		writeText(w, http.StatusServiceUnavailable, err.Error()+"\n")
		return
	}
	defer p.unsubscribe(s)
	out := newEventWriter(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)

	ctx := r.Context()
	// retry: how long a browser waits before it connects again.
	if !out.line("retry: 2000") || !out.send("snapshot", p.snapshot(ctx, timeline)) {
		return
	}
	heartbeat := p.clock.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			// The services have stopped: pass on how, then end.
			if len(s.events) > 0 {
				out.send("update", p.update(ctx, drain(s.events, nil)))
			}
			return
		case <-heartbeat.Chan():
			if !out.line(": heartbeat") {
				return
			}
		case <-s.resync:
			if !out.send("snapshot", p.snapshot(ctx, p.resynced(s))) {
				return
			}
		case en := <-s.events:
			if !out.send("update", p.update(ctx, drain(s.events, []entry{en}))) {
				return
			}
		}
	}
}

// drain appends to batch what events holds now.
func drain(events chan entry, batch []entry) []entry {
	for n := len(events); n > 0; n-- {
		batch = append(batch, <-events)
	}
	return batch
}

// eventWriter writes server-sent events, each within writeTimeout: the
// server's own read and write timeouts are for short requests, so a
// stream clears them and gives each write a deadline of its own instead.
type eventWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // a writer without deadlines has none to clear
	return &eventWriter{w: w, rc: rc}
}

// send writes one event whose data is v as JSON. JSON keeps the data on
// one line (a newline in a service's error cannot end the event) and
// escapes <, > and & besides.
func (o *eventWriter) send(event string, v any) bool {
	data, err := json.Marshal(v)
	if err != nil { // only plain structs of strings, numbers and times: cannot happen
		return false
	}
	msg := make([]byte, 0, len("event: \ndata: \n\n")+len(event)+len(data))
	msg = append(append(append(append(msg, "event: "...), event...), "\ndata: "...), data...)
	return o.write(append(msg, "\n\n"...))
}

// line writes a line of the stream that is not an event: a comment such
// as a heartbeat (": ..."), or the retry field.
func (o *eventWriter) line(text string) bool { return o.write([]byte(text + "\n\n")) }

func (o *eventWriter) write(b []byte) bool {
	if err := o.rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	if _, err := o.w.Write(b); err != nil {
		return false
	}
	return o.rc.Flush() == nil
}
