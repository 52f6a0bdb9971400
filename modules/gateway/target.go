package gateway

import (
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// replicaVar stands for a replica's number in a target's address.
const replicaVar = "{replica}"

// Target is where a route's service listens: TCP, Unix or Handler.
type Target interface {
	fmt.Stringer
	check() error
}

// TCP is a service that listens on a TCP address, host:port, such as
// "127.0.0.1:9001". With replicas, "{replica}" in addr stands for each
// one's number, as its app.Identity has it: "127.0.0.1:900{replica}" is
// 127.0.0.1:9001 for worker#1 and 127.0.0.1:9002 for worker#2.
func TCP(addr string) Target { return tcpTarget(addr) }

// Unix is a service that listens on the unix socket at path, such as one
// that a process-mode service's child serves. With replicas, "{replica}"
// in path stands for each one's number, as for TCP:
// "/run/app/worker-{replica}.sock".
func Unix(path string) Target { return unixTarget(path) }

// Handler serves a route in the app's own process, while its service runs,
// with h: an http.Handler, or a constructor of one in any shape fx accepts,
// which may take the service itself, or anything else the graph has:
//
//	gateway.Route("/api/", "api", gateway.Handler(func(api *API) http.Handler { return api }))
//
// The handler runs on the gateway's goroutines, not on the service's loop
// or thread, so it must be safe for concurrent use. With replicas, it
// serves while any of them runs.
func Handler(h any) Target {
	if handler, ok := h.(http.Handler); ok && h != nil {
		return handlerTarget{given: h, handler: handler}
	}
	return handlerTarget{given: h, ctor: returnsHandler(h)}
}

type tcpTarget string

func (t tcpTarget) String() string { return fmt.Sprintf("gateway.TCP(%q)", string(t)) }
func (t tcpTarget) check() error {
	if _, port, err := net.SplitHostPort(at(string(t), 1)); err != nil || port == "" {
		return fmt.Errorf("gateway.TCP(%q): want host:port, such as \"127.0.0.1:9001\"", string(t))
	}
	return nil
}

type unixTarget string

// maxSocketPath is the longest path a unix socket's address holds on Linux.
const maxSocketPath = 107

func (t unixTarget) String() string { return fmt.Sprintf("gateway.Unix(%q)", string(t)) }
func (t unixTarget) check() error {
	switch p := at(string(t), 1); {
	case p == "":
		return fmt.Errorf("gateway.Unix(%q): want the path of a unix socket", p)
	case len(p) > maxSocketPath:
		return fmt.Errorf("gateway.Unix(%q): the path has %d bytes; a unix socket's has at most %d", string(t), len(p), maxSocketPath)
	}
	return nil
}

type handlerTarget struct {
	given   any
	handler http.Handler // given as a value
	ctor    bool         // given as a constructor, which the module has fx call
}

func (t handlerTarget) String() string { return fmt.Sprintf("gateway.Handler(%T)", t.given) }
func (t handlerTarget) check() error {
	if t.handler == nil && !t.ctor {
		return fmt.Errorf("%v: want an http.Handler, or a constructor whose first result is one", t)
	}
	return nil
}

var handlerType = reflect.TypeFor[http.Handler]()

// returnsHandler reports whether ctor is a function whose first result is
// an http.Handler.
func returnsHandler(ctor any) bool {
	t := reflect.TypeOf(ctor)
	return t != nil && t.Kind() == reflect.Func && t.NumOut() > 0 && t.Out(0).Implements(handlerType)
}

// at is addr for the replica numbered n.
func at(addr string, n int) string { return strings.ReplaceAll(addr, replicaVar, strconv.Itoa(n)) }

// containsReplica reports whether addr tells replicas apart.
func containsReplica(addr string) bool { return strings.Contains(addr, replicaVar) }
