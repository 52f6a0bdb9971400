package gateway

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// inProcess serves with the program's handler, with the X-Forwarded-*
// headers the proxy sets, and none the client sent. A connection the
// handler hijacks is closed when the drain timeout cuts the requests, if
// the handler has not returned by then.
func (g *gateway) inProcess(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Forwarded")
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			r.Header.Set("X-Forwarded-For", ip)
		} else {
			r.Header.Del("X-Forwarded-For")
		}
		r.Header.Set("X-Forwarded-Host", r.Host)
		r.Header.Set("X-Forwarded-Proto", "http")
		tw := &trackedWriter{ResponseWriter: w, hijacked: &g.hijacked}
		defer tw.release()
		h.ServeHTTP(tw, r)
	})
}

// hijacked holds the connections that in-process handlers took over and
// still hold, so that the end of the drain can close them: the server
// forgets a connection once it is hijacked.
type hijacked struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	cut   bool
}

func (h *hijacked) add(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cut {
		_ = c.Close()
		return
	}
	if h.conns == nil {
		h.conns = map[net.Conn]struct{}{}
	}
	h.conns[c] = struct{}{}
}

func (h *hijacked) remove(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
}

// closeAll closes the connections held, and any hijacked from now on.
func (h *hijacked) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cut = true
	for c := range h.conns {
		_ = c.Close()
	}
	clear(h.conns)
}

// trackedWriter is the ResponseWriter of an in-process handler: it notes
// the connection the handler hijacks.
type trackedWriter struct {
	http.ResponseWriter
	hijacked *hijacked
	conn     net.Conn
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *trackedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher for handlers that look for it.
func (w *trackedWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Hijack implements http.Hijacker, and http.ResponseController uses it.
func (w *trackedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.conn = conn
		w.hijacked.add(conn)
	}
	return conn, rw, err
}

// release forgets the hijacked connection once the handler has returned:
// it is then no longer a request under way.
func (w *trackedWriter) release() {
	if w.conn != nil {
		w.hijacked.remove(w.conn)
	}
}
