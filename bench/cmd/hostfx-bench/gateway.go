package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/fx"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/gateway"
)

// gatewayClients is how many clients send requests at once.
const gatewayClients = 16

// gatewayBody is what the backend answers: small, as most API answers are.
var gatewayBody = []byte(`{"ok":true}`)

// standIn is a service that runs and does nothing: the gateway routes to
// it while it runs, and its requests go to the benchmark's own backend.
type standIn struct{}

func (standIn) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// benchGateway compares the gateway with a bare httputil.ReverseProxy in
// front of the same backend, an HTTP server on 127.0.0.1 in this process:
// the throughput of gatewayClients clients at once, and the 99th
// percentile of their requests' latency.
func benchGateway(p harness.Plan, rep *report) error {
	backend, stopBackend, err := serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(gatewayBody)
	}))
	if err != nil {
		return err
	}
	defer stopBackend()

	var srv *gateway.Server
	a := app.New(quiet(),
		app.Service("backend", func() standIn { return standIn{} }, modes.SeparateThread),
		gateway.Module(gateway.Addr("127.0.0.1:0"), gateway.Route("/", "backend", gateway.TCP(backend))),
		fx.Populate(&srv),
	)
	if err := a.Start(context.Background()); err != nil {
		return err
	}
	defer func() { _ = a.Stop(context.Background()) }()

	target := &url.URL{Scheme: "http", Host: backend}
	bare, stopBare, err := serve(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		// Pooled as the gateway pools its connections to a service.
		Transport: &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
	})
	if err != nil {
		return err
	}
	defer stopBare()

	gw, bp := newLoad(srv.Addr()), newLoad(bare)
	defer gw.close()
	defer bp.close()
	rs, err := harness.Measure(p, gw.throughput, bp.throughput, gw.p99, bp.p99)
	if err != nil {
		return err
	}
	// Throughput is the inverse of the time per request: the bare proxy's
	// time over the gateway's.
	throughput := harness.Compare(rs[0], rs[1]).Inverse()
	rep.add(row{name: "gateway_throughput", hostfx: spread(rs[0]), baseline: spread(rs[1]), cmp: &throughput, least: 0.8})
	rep.add(row{name: "gateway_p99", hostfx: spread(rs[2]), baseline: spread(rs[3]), cmp: compare(rs[2], rs[3]), goal: 1.25})
	rep.note("gateway_throughput and gateway_p99: %d clients at once send GETs through the gateway (routing, limits, "+
		"metrics, holding the %d-byte answer whole) and through a bare httputil.ReverseProxy with the same connection pool, "+
		"both in front of one net/http server on 127.0.0.1 in this process; throughput as time per request (ratio: bare "+
		"over gateway), p99 as the 99th percentile of each sample's request latencies.", gatewayClients, len(gatewayBody))
	return nil
}

// serve serves h on a free port of 127.0.0.1 and returns its address.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), func() { _ = srv.Close(); <-served }, nil
}

// load sends requests to one proxy from gatewayClients clients.
type load struct {
	url       string
	client    *http.Client
	transport *http.Transport
}

func newLoad(addr string) *load {
	t := &http.Transport{MaxIdleConnsPerHost: gatewayClients, DisableCompression: true}
	return &load{url: "http://" + addr + "/api/items", client: &http.Client{Transport: t, Timeout: time.Minute}, transport: t}
}

func (l *load) close() { l.transport.CloseIdleConnections() }

// run sends n requests, gatewayClients at a time, and returns how long
// they took and each one's latency.
func (l *load) run(n int) (time.Duration, []time.Duration, error) {
	latencies := make([]time.Duration, n)
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	begin := time.Now()
	for range min(gatewayClients, n) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				t := time.Now()
				err := l.get()
				latencies[i] = time.Since(t)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(begin), latencies, first
}

func (l *load) get() error {
	resp, err := l.client.Get(l.url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	switch {
	case err != nil:
		return err
	case resp.StatusCode != http.StatusOK || string(body) != string(gatewayBody):
		return fmt.Errorf("GET %s: %s %q", l.url, resp.Status, body)
	}
	return nil
}

// throughput is a harness.Sampler of the time n requests take.
func (l *load) throughput(n int) (time.Duration, time.Duration, error) {
	took, _, err := l.run(n)
	return took, 0, err
}

// p99Requests is the fewest requests a p99 sample takes, so that its
// percentile stands on a hundred requests above it and more.
const p99Requests = 2000

// p99 is a harness.Sampler whose time per operation is the 99th
// percentile of the latencies of at least n requests.
func (l *load) p99(n int) (time.Duration, time.Duration, error) {
	_, latencies, err := l.run(max(n, p99Requests))
	if err != nil {
		return 0, 0, err
	}
	slices.Sort(latencies)
	return latencies[(len(latencies)*99)/100] * time.Duration(n), 0, nil
}
