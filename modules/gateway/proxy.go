package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Limits of the gateway's connections to the services.
const (
	dialTimeout        = 10 * time.Second
	maxIdlePerBackend  = 128 // enough for many concurrent clients to reuse connections
	backendIdleTimeout = 90 * time.Second
)

// gateway is the handler the server runs: it turns away what it must not
// pass on, finds the route and the backend, and passes the request on.
type gateway struct {
	settings settings
	metrics  *metrics
	table    *table
	states   *states
	log      *zap.Logger
	inflight tracker
	hijacked hijacked
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.inflight.add()
	defer g.inflight.done()
	x := &exchange{ResponseWriter: w, in: r}
	begin := time.Now()
	defer func() { g.metrics.answered(x.routeLabel(), x.service, x.status(), time.Since(begin)) }()
	switch {
	case r.Method == http.MethodConnect:
		refuse(x, http.StatusMethodNotAllowed, "CONNECT is not served")
		return
	case !strings.HasPrefix(r.RequestURI, "/"):
		// A full URL, or "*": the gateway is nobody's forward proxy.
		refuse(x, http.StatusBadRequest, "want a path, not a full URL")
		return
	case !isClean(r.URL.Path):
		refuse(x, http.StatusBadRequest, "want a clean path, without \".\", \"..\" or \"//\"")
		return
	}
	rt := g.table.match(r.Host, r.URL.Path)
	if rt == nil {
		refuse(x, http.StatusNotFound, "no route")
		return
	}
	x.route, x.service = rt, rt.service
	if r.ContentLength > g.settings.MaxBodyBytes {
		w.Header().Set("Connection", "close") // and leave the body unread
		refuse(x, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body has more than %d bytes", g.settings.MaxBodyBytes))
		return
	}
	b := g.pick(rt, nil)
	if b == nil {
		g.unavailable(x, rt.services())
		return
	}
	r = g.limitBody(w, r, x)
	if b.remote {
		r = x.forProxy(r)
	}
	g.send(x, b, r)
}

// send passes r on to b.
func (g *gateway) send(x *exchange, b *backend, r *http.Request) {
	x.service = b.service
	b.calls.Add(1)
	defer b.calls.Add(-1)
	b.serve.ServeHTTP(x, r)
}

// pick returns the running backend of rt with the fewest requests under
// way, taking turns among equals, but for not, or nil when none runs.
func (g *gateway) pick(rt *route, not *backend) *backend {
	if b := rt.pick(g.states.current(), not); b != nil {
		return b
	}
	// What stopped may have started since the last event was counted.
	return rt.pick(g.states.refresh(), not)
}

func (rt *route) pick(snap *snapshot, not *backend) *backend {
	n := len(rt.backends)
	if n == 1 {
		if b := rt.backends[0]; b != not && snap.running(b.service) {
			return b
		}
		return nil
	}
	var best *backend
	first := int(rt.turn.Add(1))
	for i := range n {
		b := rt.backends[(first+i)%n]
		if b != not && snap.running(b.service) && (best == nil || b.calls.Load() < best.calls.Load()) {
			best = b
		}
	}
	return best
}

func (rt *route) services() []string {
	out := make([]string, len(rt.backends))
	for i, b := range rt.backends {
		out[i] = b.service
	}
	return out
}

// unavailable answers 503, with Retry-After when one of services will run
// again by itself.
func (g *gateway) unavailable(x *exchange, services []string) {
	seconds, ok := g.states.retryAfter(g.states.current(), services)
	if ok {
		x.Header().Set("Retry-After", strconv.Itoa(seconds))
	}
	g.metrics.turnedAway(x.routeLabel(), ok)
	refuse(x, http.StatusServiceUnavailable, "the service is not running")
}

// refuse answers code with a short reason in plain text.
func refuse(w http.ResponseWriter, code int, reason string) {
	http.Error(w, fmt.Sprintf("%d %s: %s", code, http.StatusText(code), reason), code)
}

// proxy builds the reverse proxy to b, a service listening at address on
// network, "tcp" or "unix".
func (g *gateway) proxy(b *backend, network, address string) {
	dialer := &net.Dialer{Timeout: dialTimeout}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, address)
		},
		MaxIdleConnsPerHost: maxIdlePerBackend,
		IdleConnTimeout:     backendIdleTimeout,
		DisableCompression:  true, // pass bodies on as they are
	}
	host := address
	if network == "unix" {
		host = "localhost"
	}
	target := &url.URL{Scheme: "http", Host: host}
	b.serve = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Rewrite has dropped the hop-by-hop and X-Forwarded-* headers
			// that came with the request; they are set here anew.
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport:      transport,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError(b),
		ErrorLog:       zap.NewStdLog(g.log),
	}
	b.close = transport.CloseIdleConnections
	b.remote = true
}

// proxyError answers a request the proxy could not pass on: 413, 408 or
// 400 when its body was too large, too slow or broke off; else 503, as
// the service does not answer: it has just crashed, or is not there. A
// request that changes nothing goes to another running replica instead,
// once, when the first could not be connected to.
func (g *gateway) proxyError(b *backend) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		x := exchangeOf(r)
		if x == nil { // the proxy has its requests from ServeHTTP only
			x = &exchange{ResponseWriter: w, in: r, service: b.service}
		}
		if x.body != nil {
			var tooLarge *http.MaxBytesError
			switch berr := x.body.failure(); {
			case errors.As(berr, &tooLarge):
				refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body has more than %d bytes", tooLarge.Limit))
				return
			case errors.Is(berr, os.ErrDeadlineExceeded):
				refuse(w, http.StatusRequestTimeout, "the body came too slowly")
				return
			case berr != nil:
				refuse(w, http.StatusBadRequest, "the body broke off")
				return
			}
		}
		if r.Context().Err() != nil { // the client has gone, or the drain cut it
			g.unavailable(x, []string{b.service})
			return
		}
		kind := upstreamKind(err)
		g.metrics.failed(b.service, kind)
		if g.states.current().running(b.service) {
			g.log.Warn("gateway: a running service does not answer", zap.String("service", b.service), zap.Error(err))
		}
		if kind == kindConnect && x.idempotent() {
			if next := g.pick(x.route, b); next != nil {
				x.retried = true
				g.metrics.retried(x.route.pattern)
				g.send(x, next, x.in)
				return
			}
		}
		g.unavailable(x, []string{b.service})
	}
}

// upstreamKind says what failed: the connection, the response, or its body.
func upstreamKind(err error) string {
	var op *net.OpError
	var broken *brokenError
	switch {
	case errors.As(err, &broken):
		return kindBody
	case errors.As(err, &op) && op.Op == "dial":
		return kindConnect
	}
	return kindResponse
}
