// Package metricset is how hostfx's modules hand their Prometheus
// collectors to the ops module's own registry when the program provides
// none: each module provides its collector into the value group Group,
// and the ops module registers the group in the registry it makes.
//
// It owns only the group's name: it must not register anything itself.
package metricset

// Group is the fx value group of the collectors, of type
// prometheus.Collector.
const Group = "hostfx.metrics"
