package gateway

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// limitBody bounds the size of r's body and the time to read it, and
// keeps the body in x, for proxyError.
func (g *gateway) limitBody(w http.ResponseWriter, r *http.Request, x *exchange) *http.Request {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return r
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(g.settings.BodyTimeout))
	b := &body{ReadCloser: http.MaxBytesReader(w, r.Body, g.settings.MaxBodyBytes), rc: rc}
	x.body = b
	r = r.WithContext(r.Context()) // a copy: the server's request stays as it came
	r.Body = b
	return r
}

// body is a request's body whose reading has a deadline, lifted once it is
// read, as the server reads the connection then to see the client leave.
type body struct {
	io.ReadCloser
	rc *http.ResponseController

	mu    sync.Mutex
	ended bool
	err   error // why reading failed, if it did
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.mu.Lock()
		if !b.ended {
			b.ended = true
			if errors.Is(err, io.EOF) {
				_ = b.rc.SetReadDeadline(time.Time{})
			} else {
				b.err = err
			}
		}
		b.mu.Unlock()
	}
	return n, err
}

// failure says why reading the body failed, or nil.
func (b *body) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
