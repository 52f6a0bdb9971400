package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
)

// brokenError is a response that broke off while the gateway buffered it:
// nothing of it has reached the client, which gets a 503 instead.
type brokenError struct{ err error }

func (e *brokenError) Error() string { return fmt.Sprintf("the response broke off: %v", e.err) }
func (e *brokenError) Unwrap() error { return e.err }

// readPool holds the buffers of a chunked response's first read.
var readPool = sync.Pool{New: func() any { return new([]byte) }}

// modifyResponse is the proxy's ModifyResponse: it reads a small response
// whole before the proxy sends anything of it on, so that a service that
// dies mid-response costs the client a 503, not a cut connection. What it
// cannot hold without delaying a stream passes through, watched for a
// body that breaks off.
//
// A response with a Content-Length of at most BufferBytes is read whole.
// One without (chunked) is read once, as the proxy would read it anyway:
// when that read brings its end, it is whole; else what was read goes on
// first and the rest follows as it comes. Server-sent events, upgrades
// and responses with trailers pass through.
func (g *gateway) modifyResponse(res *http.Response) error {
	x := exchangeOf(res.Request)
	limit := g.settings.BufferBytes
	switch {
	case x == nil, res.Body == nil, res.Body == http.NoBody, res.StatusCode == http.StatusSwitchingProtocols:
		return nil
	case limit <= 0, len(res.Trailer) > 0, isEventStream(res.Header):
	case res.ContentLength >= 0 && res.ContentLength <= limit:
		data := make([]byte, res.ContentLength)
		if _, err := io.ReadFull(res.Body, data); err != nil {
			return &brokenError{err}
		}
		_ = res.Body.Close() // read to its end: the connection goes back to the pool
		res.Body = bufferedBody{bytes.NewReader(data)}
		return nil
	case res.ContentLength < 0:
		return g.readChunked(x, res, limit)
	}
	res.Body = &watchedBody{ReadCloser: res.Body, g: g, x: x}
	return nil
}

// readChunked reads a chunked response once: whole if its end came with
// that read, else to pass on what came first and then the rest.
func (g *gateway) readChunked(x *exchange, res *http.Response, limit int64) error {
	bp := readPool.Get().(*[]byte)
	defer readPool.Put(bp)
	size := int(min(limit+1, 64<<10))
	if cap(*bp) < size {
		*bp = make([]byte, size)
	}
	buf := (*bp)[:size]
	n, err := res.Body.Read(buf)
	data := bytes.Clone(buf[:n])
	switch {
	case errors.Is(err, io.EOF):
		_ = res.Body.Close()
		res.Body = bufferedBody{bytes.NewReader(data)}
		res.ContentLength = int64(n)
		res.TransferEncoding = nil
		res.Header.Set("Content-Length", strconv.Itoa(n))
		return nil
	case err != nil:
		return &brokenError{err}
	}
	res.Body = &watchedBody{ReadCloser: prefixed{io.MultiReader(bytes.NewReader(data), res.Body), res.Body}, g: g, x: x}
	return nil
}

// isEventStream reports whether a response is server-sent events, which
// the proxy flushes as they come.
func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// bufferedBody is a response held whole.
type bufferedBody struct{ *bytes.Reader }

func (bufferedBody) Close() error { return nil }

// prefixed is a body of which the gateway has read the first part.
type prefixed struct {
	io.Reader
	body io.Closer
}

func (p prefixed) Close() error { return p.body.Close() }

// watchedBody is a response passed through as it comes, whose breaking off
// is counted: the proxy then cuts the client's connection, as nothing
// else can tell the client that what it got is not all.
type watchedBody struct {
	io.ReadCloser
	g      *gateway
	x      *exchange
	failed bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !b.failed && b.x.in.Context().Err() == nil {
		b.failed = true
		b.g.metrics.failed(b.x.service, kindBody)
	}
	return n, err
}
