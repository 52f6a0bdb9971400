package gateway

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds of upstream errors, the kind label of
// hostfx_gateway_upstream_errors_total.
const (
	kindConnect  = "connect"  // no connection to the service
	kindResponse = "response" // connected, but no response came
	kindBody     = "body"     // the response broke off
)

// metrics are the gateway's Prometheus metrics. They count whether or not
// a registry has them: without one, nobody reads them.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	upstream    *prometheus.CounterVec
	unavailable *prometheus.CounterVec
	retries     *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostfx_gateway_requests_total",
			Help: "Requests the gateway answered, by route pattern, the service that answered, and class of status code (2xx); route and service are empty for a request no route covers.",
		}, []string{"route", "service", "code_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hostfx_gateway_request_duration_seconds",
			Help:    "How long the gateway took to answer a request, until the response ended, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostfx_gateway_upstream_errors_total",
			Help: "Requests a service failed, by service and kind: connect (no connection), response (no response), body (the response broke off).",
		}, []string{"service", "kind"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostfx_gateway_unavailable_responses_total",
			Help: "503 answers of the gateway's own, for a service that did not run or answer, by route pattern and whether they carried Retry-After.",
		}, []string{"route", "retry_after"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostfx_gateway_retries_total",
			Help: "Idempotent requests sent to another replica after the first could not be connected to, by route pattern.",
		}, []string{"route"}),
	}
}

// all are the gateway's collectors.
func (m *metrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.upstream, m.unavailable, m.retries}
}

// Describe makes the metrics one prometheus.Collector, for a registry that
// takes them whole.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.all() {
		c.Describe(ch)
	}
}

// Collect makes the metrics one prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.all() {
		c.Collect(ch)
	}
}

// register adds the metrics to reg, when the program has one.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range m.all() {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("gateway: register the metrics: %w", err)
		}
	}
	return nil
}

// answered counts a request that took d and was answered with code, by
// the service, on the route; both are empty for a request no route
// covers.
func (m *metrics) answered(route, service string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, service, codeClass(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// failed counts an upstream error of a kind.
func (m *metrics) failed(service, kind string) { m.upstream.WithLabelValues(service, kind).Inc() }

// turnedAway counts a 503 of the gateway's own.
func (m *metrics) turnedAway(route string, retryAfter bool) {
	m.unavailable.WithLabelValues(route, strconv.FormatBool(retryAfter)).Inc()
}

// retried counts a request sent to another replica.
func (m *metrics) retried(route string) { m.retries.WithLabelValues(route).Inc() }

// codeClasses are the code_class labels, by the first digit of a code.
var codeClasses = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// codeClass is the class of an HTTP status code, such as "2xx".
func codeClass(code int) string {
	if c := code / 100; c >= 1 && c < len(codeClasses) {
		return codeClasses[c]
	}
	return "other"
}
