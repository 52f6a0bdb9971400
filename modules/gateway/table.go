package gateway

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/hostfx/hostfx/lifecycle"
)

// route is a declared route resolved against the app's services.
type route struct {
	host, path string
	pattern    string     // host and path, for the metrics
	service    string     // as the route names it
	backends   []*backend // one per replica, in replica order
	turn       atomic.Uint32
}

// backend is one replica of a route's service and how to reach it.
type backend struct {
	service string       // as Status names it: "api", "worker#2"
	serve   http.Handler // the proxy to it, or the program's handler
	close   func()       // drops the proxy's idle connections; nil for a handler
	remote  bool         // a proxy, not a handler in this process
	calls   atomic.Int64 // requests under way
}

// table finds the route of a request.
type table struct {
	routes []*route // routes with a host first, then by longest path
}

func newTable(routes []*route) *table {
	slices.SortStableFunc(routes, func(a, b *route) int {
		if (a.host == "") != (b.host == "") {
			return cmp.Compare(len(b.host), len(a.host)) // the one with a host first
		}
		return cmp.Compare(len(b.path), len(a.path))
	})
	return &table{routes: routes}
}

// match returns the route for a request to host and p, or nil.
func (t *table) match(host, p string) *route {
	host = hostOnly(host)
	for _, r := range t.routes {
		if (r.host == "" || r.host == host) && covers(r.path, p) {
			return r
		}
	}
	return nil
}

// hostOnly is a Host header's host, lower-cased, without port or brackets.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

// members lists the services a route to name reaches, with their replica
// numbers: the service called so, or each replica of it.
func members(name string, statuses []lifecycle.Status) []member {
	var out []member
	for _, st := range statuses {
		if st.Service == name {
			return []member{{service: name, replica: replicaOf(name)}}
		}
		rest, ok := strings.CutPrefix(st.Service, name+"#")
		if n, err := strconv.Atoi(rest); ok && err == nil && n > 0 {
			out = append(out, member{service: st.Service, replica: n})
		}
	}
	return out
}

type member struct {
	service string
	replica int
}

// replicaOf is the number of a replica's name, such as 2 for worker#2,
// or 0.
func replicaOf(service string) int {
	if i := strings.LastIndexByte(service, '#'); i >= 0 {
		if n, err := strconv.Atoi(service[i+1:]); err == nil {
			return n
		}
	}
	return 0
}

// unknownService says that a route names no service of the app.
func unknownService(d declared, statuses []lifecycle.Status) error {
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = strconv.Quote(st.Service)
	}
	have := "the app has no services"
	if len(names) > 0 {
		have = "its services are " + strings.Join(names, ", ")
	}
	return fmt.Errorf("gateway: %s: no service is called %q; %s", d.from, d.service, have)
}
