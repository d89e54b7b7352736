// Package metrics owns the Prometheus registry of a process and the metric
// families shared across packages. Every name is prefixed reconlayer_ and no
// label takes unbounded values (never a raw path, an organization or a case id).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reconlayer/reconlayer/internal/buildinfo"
)

// Registry is one process's metrics.
type Registry struct {
	reg  *prometheus.Registry
	HTTP *HTTP
	// Evidence counts evidence the api took in, by source and whether it was
	// new or a duplicate.
	Evidence *prometheus.CounterVec
	// Matches counts evidence the matcher placed, by outcome (matched,
	// unmatched, ambiguous) and winning strategy ("" when none).
	Matches *prometheus.CounterVec
	// WebhookDeliveries counts webhook attempts by outcome (succeeded,
	// failed, refused); WebhookLatency times them.
	WebhookDeliveries *prometheus.CounterVec
	WebhookLatency    *prometheus.HistogramVec
}

// HTTP holds the request metrics recorded by the api middleware.
type HTTP struct {
	Requests *prometheus.CounterVec
	Duration *prometheus.HistogramVec
	InFlight prometheus.Gauge
}

// New builds a registry with the Go runtime, process and build-info collectors
// and the HTTP metric families.
func New() *Registry {
	reg := prometheus.NewRegistry()
	bi := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "reconlayer_build_info",
		Help:        "Build of the running reconlayer binary; always 1.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	build.Set(1)
	h := &HTTP{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reconlayer_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reconlayer_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "reconlayer_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	evidence := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reconlayer_evidence_received_total",
		Help: "Evidence records received by the api, by source and result (accepted, duplicate).",
	}, []string{"source", "result"})
	matches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reconlayer_evidence_matched_total",
		Help: "Evidence records placed by the matcher, by outcome (matched, unmatched, ambiguous) and strategy.",
	}, []string{"outcome", "strategy"})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reconlayer_webhook_deliveries_total",
		Help: "Webhook delivery attempts, by outcome (succeeded, failed, refused).",
	}, []string{"outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "reconlayer_webhook_delivery_duration_seconds",
		Help:    "Time from sending a webhook to the consumer's full answer, by outcome.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"})
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, h.Requests, h.Duration, h.InFlight, evidence, matches, deliveries, latency,
	)
	return &Registry{reg: reg, HTTP: h, Evidence: evidence, Matches: matches, WebhookDeliveries: deliveries, WebhookLatency: latency}
}

// MustRegister adds collectors owned by other packages.
func (r *Registry) MustRegister(cs ...prometheus.Collector) { r.reg.MustRegister(cs...) }

// Gatherer exposes the registry for tests.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in the Prometheus exposition format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}
