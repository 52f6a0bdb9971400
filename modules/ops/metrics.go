package ops

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"

	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

// stateLabels name each state in the state label of hostfx_service_state.
var stateLabels = map[lifecycle.State]string{
	lifecycle.StateIdle:     "idle",
	lifecycle.StateStarting: "starting",
	lifecycle.StateRunning:  "running",
	lifecycle.StateBackoff:  "backoff",
	lifecycle.StateStopping: "stopping",
	lifecycle.StateStopped:  "stopped",
	lifecycle.StateExited:   "exited",
	lifecycle.StateFailed:   "failed",
}

// stateOrder lists the states in their order, for a stable exposition.
var stateOrder = []lifecycle.State{
	lifecycle.StateIdle, lifecycle.StateStarting, lifecycle.StateRunning, lifecycle.StateBackoff,
	lifecycle.StateStopping, lifecycle.StateStopped, lifecycle.StateExited, lifecycle.StateFailed,
}

// metrics are the app's metrics: what Status says, read at each scrape,
// and counts of the lifecycle events that Status does not keep.
type metrics struct {
	live    *liveness.Probe
	timeout time.Duration
	self    int // this process, whose own figures the process collector has

	startDuration *prometheus.HistogramVec
	crashes       *prometheus.CounterVec
	stalls        *prometheus.CounterVec
	lag           *prometheus.HistogramVec

	info, state, restarts, startTime, rss, cpu *prometheus.Desc
}

func newMetrics(live *liveness.Probe, timeout time.Duration) *metrics {
	service := []string{"service"}
	return &metrics{
		live: live, timeout: timeout, self: os.Getpid(),
		startDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hostfx_service_start_duration_seconds",
			Help:    "How long each start of a service took, from launch until it counted as started.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1ms to 65s
		}, service),
		crashes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostfx_service_crashes_total",
			Help: "Runs of a service that ended in an error, a panic or a crash.",
		}, service),
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hostfx_loop_stalls_total",
			Help: "Callbacks that held an event loop longer than its stall threshold, by loop and service.",
		}, []string{"loop", "service"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hostfx_loop_lag_seconds",
			Help:    "How late each event loop was, sampled every second: the main loop, and each SEPARATE_THREAD_ASYNC service's own.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9), // 100µs to 6.5s
		}, []string{"loop"}),
		info: prometheus.NewDesc("hostfx_service_info",
			"A service and its execution mode; always 1.", []string{"service", "mode"}, nil),
		state: prometheus.NewDesc("hostfx_service_state",
			"The state of each service: 1 for the state it is in, 0 for the others.", []string{"service", "state"}, nil),
		restarts: prometheus.NewDesc("hostfx_service_restarts_total",
			"Restarts of a service since the app started.", service, nil),
		startTime: prometheus.NewDesc("hostfx_service_start_time_seconds",
			"When a running service entered the running state, in seconds since the Unix epoch; its uptime is time() minus this.",
			service, nil),
		rss: prometheus.NewDesc("hostfx_service_process_resident_memory_bytes",
			"Resident memory of a process-mode service's child.", service, nil),
		cpu: prometheus.NewDesc("hostfx_service_process_cpu_seconds_total",
			"User and system CPU time of a process-mode service's current child.", service, nil),
	}
}

// register adds the metrics to reg.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m, m.startDuration, m.crashes, m.stalls, m.lag} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observe counts the events Status does not keep.
func (m *metrics) observe(e lifecycle.Event) {
	switch e := e.(type) {
	case *lifecycle.Starting:
		// Every service shows its counters from 0 on, not from its first event.
		m.crashes.WithLabelValues(e.Service)
		m.startDuration.WithLabelValues(e.Service)
	case *lifecycle.Started:
		if e.Err == nil {
			m.startDuration.WithLabelValues(e.Service).Observe(e.Duration.Seconds())
		}
	case *lifecycle.Crashed:
		m.crashes.WithLabelValues(e.Service).Inc()
	case *lifecycle.Stalled:
		m.stalls.WithLabelValues(e.Loop, e.Service).Inc()
	}
}

// sampleLag observes how late each running loop of this process is: the
// main loop once, whichever of its services says it, and each
// SEPARATE_THREAD_ASYNC service's own.
func (m *metrics) sampleLag(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	statuses, err := m.live.Status(ctx)
	if err != nil {
		return // the supervisor does not answer: the probes say so
	}
	mainSeen := false
	for _, st := range statuses {
		if st.State != lifecycle.StateRunning {
			continue
		}
		switch st.Mode {
		case modes.MainEventLoopAsync:
			if !mainSeen {
				mainSeen = true
				m.lag.WithLabelValues("main").Observe(st.Lag.Seconds())
			}
		case modes.SeparateThreadAsync:
			m.lag.WithLabelValues(st.Service).Observe(st.Lag.Seconds())
		}
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.info, m.state, m.restarts, m.startTime, m.rss, m.cpu} {
		ch <- d
	}
}

// Collect implements prometheus.Collector with what Status says now.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	statuses, err := m.live.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.state, err)
		return
	}
	for _, st := range statuses {
		ch <- prometheus.MustNewConstMetric(m.info, prometheus.GaugeValue, 1, st.Service, st.Mode.String())
		for _, s := range stateOrder {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, v, st.Service, stateLabels[s])
		}
		ch <- prometheus.MustNewConstMetric(m.restarts, prometheus.CounterValue, float64(st.Restarts), st.Service)
		if st.State == lifecycle.StateRunning {
			ch <- prometheus.MustNewConstMetric(m.startTime, prometheus.GaugeValue,
				float64(st.Since.UnixNano())/1e9, st.Service)
		}
		m.collectChild(ch, st)
	}
}

// collectChild reports the resources of a process-mode service's child,
// read from /proc/<pid>/stat. A child that ended since Status is skipped.
func (m *metrics) collectChild(ch chan<- prometheus.Metric, st lifecycle.Status) {
	if !st.Mode.Process() || st.PID <= 0 || st.PID == m.self || !childAlive(st.State) {
		return
	}
	p, err := procfs.NewProc(st.PID)
	if err != nil {
		return
	}
	stat, err := p.Stat()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(m.rss, prometheus.GaugeValue, float64(stat.ResidentMemory()), st.Service)
	ch <- prometheus.MustNewConstMetric(m.cpu, prometheus.CounterValue, stat.CPUTime(), st.Service)
}

// childAlive reports whether a service in state s has a child process.
func childAlive(s lifecycle.State) bool {
	return s == lifecycle.StateStarting || s == lifecycle.StateRunning || s == lifecycle.StateStopping
}

// relay hands lifecycle events to the metrics and the status page once
// the module has built them: app.Observe takes an observer before the
// graph is built.
type relay struct {
	to   atomic.Pointer[metrics]
	page atomic.Pointer[statusPage]
}

func (r *relay) observe(e lifecycle.Event) {
	if m := r.to.Load(); m != nil {
		m.observe(e)
	}
	if p := r.page.Load(); p != nil {
		p.observe(e)
	}
}
