package gateway

import (
	"bufio"
	"context"
	"net"
	"net/http"
)

// exchange is one request through the gateway: the ResponseWriter it
// answers on, which notes the status code for the metrics, and what the
// proxy's hooks need to know of it.
type exchange struct {
	http.ResponseWriter
	code int // the status code sent, 0 until one is

	in      *http.Request // the request as the gateway took it
	route   *route        // nil until one covers the request
	service string        // the service that answers, for the metrics
	body    *body         // the request's body, when it has one
	retried bool          // sent to a second replica already
}

// exchangeKey is the context key of a request's *exchange, for the proxy's
// hooks.
type exchangeKey struct{}

// exchangeOf returns the exchange of a request that the proxy passes to
// its hooks.
func exchangeOf(r *http.Request) *exchange {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return x
}

// forProxy returns r with x in its context, for the proxy's hooks.
func (x *exchange) forProxy(r *http.Request) *http.Request {
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	x.in = r
	return r
}

// idempotent reports whether the request may go to another replica when
// the first could not be connected to: a method that changes nothing,
// with no body, not sent on already.
func (x *exchange) idempotent() bool {
	switch x.in.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return !x.retried && x.in.ContentLength == 0 && x.route != nil
	}
	return false
}

// routeLabel is the route's pattern, or "" when no route covers the
// request.
func (x *exchange) routeLabel() string {
	if x.route == nil {
		return ""
	}
	return x.route.pattern
}

// status is the code the client got: 200 when the handler wrote nothing.
func (x *exchange) status() int {
	if x.code == 0 {
		return http.StatusOK
	}
	return x.code
}

func (x *exchange) WriteHeader(code int) {
	if x.code == 0 && code >= 200 { // a 1xx is not the final answer
		x.code = code
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(p []byte) (int, error) {
	if x.code == 0 {
		x.code = http.StatusOK
	}
	return x.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// Flush implements http.Flusher for handlers that look for it.
func (x *exchange) Flush() { _ = x.FlushError() }

// FlushError is what http.ResponseController calls to flush.
func (x *exchange) FlushError() error {
	if x.code == 0 {
		x.code = http.StatusOK
	}
	return http.NewResponseController(x.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker: the connection is the handler's from
// now on, counted as switching protocols.
func (x *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(x.ResponseWriter).Hijack()
	if err == nil && x.code == 0 {
		x.code = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}
