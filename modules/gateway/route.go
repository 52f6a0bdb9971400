package gateway

import (
	"fmt"
	"net/http"
	"path"
	"runtime"
	"slices"
	"strings"
)

// Route sends the requests that pattern covers to service, which listens
// at target:
//
//	gateway.Route("/api/", "api", gateway.TCP("127.0.0.1:9001"))
//	gateway.Route("admin.example.com/", "admin", gateway.Unix("/run/app/admin.sock"))
//
// The pattern is a path, perhaps after a host. A route covers its path and
// every path below it: "/api" covers /api, /api/ and /api/users, never
// /apis; "/" covers every path. Of the routes that cover a request, one
// whose host is the request's wins over those without a host, and then the
// longest path wins. The path goes to the service as it came, prefix
// included.
//
// service is the name the service was registered under. With replicas
// (lifecycle.Replicas) the route spreads requests over the running ones,
// and the target tells their addresses apart with "{replica}"; a
// replica's own name, such as "worker#2", routes to that one alone. A name
// the app has no service for fails its start, naming the route.
func Route(pattern, service string, target Target) Option {
	d := declared{pattern: pattern, service: service, target: target}
	d.from = fmt.Sprintf("%s at %s", routeOption{d}, caller())
	return routeOption{d}
}

type routeOption struct{ d declared }

func (o routeOption) apply(s *settings) { s.routes = append(slices.Clone(s.routes), o.d) }
func (o routeOption) String() string {
	return fmt.Sprintf("gateway.Route(%q, %q, %v)", o.d.pattern, o.d.service, o.d.target)
}

// declared is a route as code or the configuration declares it.
type declared struct {
	pattern string
	service string
	target  Target
	from    string // what declared it, for messages
	built   *built // the handler fx builds, for a Handler given a constructor
}

// built is a handler the module has fx build.
type built struct{ handler http.Handler }

// caller names the file:line of the program's call of Route.
func caller() string {
	if _, file, line, ok := runtime.Caller(2); ok {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return "an unknown place"
}

// configured reads the configuration's routes.
func configured(routes []RouteSettings) ([]declared, error) {
	out := make([]declared, 0, len(routes))
	for i, r := range routes {
		from := fmt.Sprintf("the configuration's gateway.routes[%d]", i)
		var target Target
		switch {
		case r.TCP != "" && r.Unix != "":
			return nil, fmt.Errorf("gateway: %s: both tcp %q and unix %q: want one of the two", from, r.TCP, r.Unix)
		case r.TCP != "":
			target = TCP(r.TCP)
		case r.Unix != "":
			target = Unix(r.Unix)
		default:
			return nil, fmt.Errorf("gateway: %s: want where service %q listens: tcp: host:port, or unix: a socket's path", from, r.Service)
		}
		out = append(out, declared{pattern: r.Pattern, service: r.Service, target: target, from: from})
	}
	return out, nil
}

// override lets each configured route replace the code's route with the
// same pattern; the others join them.
func override(code, config []declared) []declared {
	out := slices.Clone(code)
	for _, c := range config {
		i := slices.IndexFunc(out, func(d declared) bool { return samePattern(d.pattern, c.pattern) })
		if i >= 0 {
			out[i] = c
		} else {
			out = append(out, c)
		}
	}
	return out
}

func samePattern(a, b string) bool {
	ha, pa, erra := parsePattern(a)
	hb, pb, errb := parsePattern(b)
	return erra == nil && errb == nil && ha == hb && pa == pb
}

// checkRoutes reports routes the gateway cannot serve.
func checkRoutes(routes []declared) error {
	seen := map[string]string{}
	for _, d := range routes {
		host, p, err := parsePattern(d.pattern)
		if err != nil {
			return fmt.Errorf("gateway: %s: %w", d.from, err)
		}
		if d.service == "" {
			return fmt.Errorf("gateway: %s: want the name of the service the route goes to", d.from)
		}
		if d.target == nil {
			return fmt.Errorf("gateway: %s: want where the service listens: gateway.TCP, gateway.Unix or gateway.Handler", d.from)
		}
		if err := d.target.check(); err != nil {
			return fmt.Errorf("gateway: %s: %w", d.from, err)
		}
		key := host + p
		if other, dup := seen[key]; dup {
			return fmt.Errorf("gateway: %s: pattern %q is declared twice; first by %s", d.from, d.pattern, other)
		}
		seen[key] = d.from
	}
	return nil
}

// parsePattern splits a pattern into its host, lower-cased, and its path.
func parsePattern(pattern string) (host, p string, err error) {
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return "", "", fmt.Errorf("pattern %q: want a path, such as \"/api/\", perhaps after a host: \"example.com/api/\"", pattern)
	}
	host, p = strings.ToLower(pattern[:i]), pattern[i:]
	if strings.ContainsAny(pattern, " \t?#{}*") {
		return "", "", fmt.Errorf("pattern %q: want a host and a path prefix only: no method, query, fragment or wildcard", pattern)
	}
	if strings.Contains(host, ":") {
		return "", "", fmt.Errorf("pattern %q: want the host without a port", pattern)
	}
	if !isClean(p) {
		return "", "", fmt.Errorf("pattern %q: want a clean path, without \".\", \"..\" or \"//\"", pattern)
	}
	return host, p, nil
}

// isClean reports whether p is an absolute path that path.Clean leaves
// alone, but for a trailing slash.
func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}

// covers reports whether the route path prefix covers the request path p.
func covers(prefix, p string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/'
}
