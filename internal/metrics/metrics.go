// Package metrics owns the Prometheus registry of a process and the metric
// families shared across packages. Every name is prefixed reconlayer_ and no
// label takes unbounded values (never a raw path, an organization or a case id).
//
// Every process registers every family, so a scrape of any process shows the
// same catalog; a family only grows series in the process that records it
// (requests in the api, tasks in the worker, state gauges in the scheduler).
package metrics

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reconlayer/reconlayer/internal/buildinfo"
)

// Registry is one process's metrics.
type Registry struct {
	reg  *prometheus.Registry
	all  []prometheus.Collector
	HTTP *HTTP
	// Evidence counts evidence the api took in, by source and outcome
	// (new, duplicate).
	Evidence *prometheus.CounterVec
	// Matches counts evidence the matcher placed, by outcome (matched,
	// unmatched, ambiguous) and winning strategy ("none" when none won).
	Matches  *prometheus.CounterVec
	Tasks    *Tasks
	Webhooks *Webhooks
	Imports  *Imports
	// State holds the gauges the scheduler refreshes from Postgres.
	State *State
	// Queues and Pool are filled once the process has an asynq inspector
	// and a Postgres pool (WatchQueues, WatchPool).
	Queues *QueueCollector
	Pool   *PoolCollector
}

// HTTP holds the request metrics recorded by the api middleware.
type HTTP struct {
	Requests *prometheus.CounterVec
	Duration *prometheus.HistogramVec
	InFlight prometheus.Gauge
}

// Tasks holds what the worker records of each asynq task it runs.
type Tasks struct {
	Processed *prometheus.CounterVec
	Duration  *prometheus.HistogramVec
}

// Webhooks holds what the deliverer records of each attempt.
type Webhooks struct {
	// Deliveries counts attempts by outcome (succeeded, failed, refused) and
	// the endpoint's status class (2xx … 5xx, "none" without an answer).
	Deliveries *prometheus.CounterVec
	Duration   *prometheus.HistogramVec
	// Disabled counts endpoints disabled after failing (or answering 410).
	Disabled prometheus.Counter
}

// Imports holds what the import worker records of each finished batch.
type Imports struct {
	Rows    *prometheus.CounterVec
	Batches *prometheus.CounterVec
}

// New builds a registry with the Go runtime, process and build-info
// collectors and every ReconLayer family.
func New() *Registry {
	bi := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "reconlayer_build_info",
		Help:        "Build of the running reconlayer binary; always 1.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	build.Set(1)
	r := &Registry{
		reg: prometheus.NewRegistry(),
		HTTP: &HTTP{
			Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "reconlayer_http_requests_total",
				Help: "HTTP requests answered, by method, route template and status class (2xx, 4xx …).",
			}, []string{"method", "route", "status_class"}),
			Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "reconlayer_http_request_duration_seconds",
				Help:    "Time to answer an HTTP request, by method and route template.",
				Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
			}, []string{"method", "route"}),
			InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "reconlayer_http_requests_in_flight",
				Help: "HTTP requests being served.",
			}),
		},
		Evidence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reconlayer_evidence_accepted_total",
			Help: "Evidence records accepted by the api, by source and outcome (new, duplicate).",
		}, []string{"source", "outcome"}),
		Matches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reconlayer_match_outcomes_total",
			Help: "Evidence records placed by the matcher, by outcome (matched, unmatched, ambiguous) and strategy.",
		}, []string{"outcome", "strategy"}),
		Tasks: &Tasks{
			Processed: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "reconlayer_tasks_processed_total",
				Help: "Asynq tasks run by this worker, by task type and outcome (succeeded, failed, deferred: back-pressure such as a busy webhook endpoint).",
			}, []string{"task_type", "outcome"}),
			Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "reconlayer_task_duration_seconds",
				Help:    "Time to run an asynq task, by task type.",
				Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
			}, []string{"task_type"}),
		},
		Webhooks: &Webhooks{
			Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "reconlayer_webhook_deliveries_total",
				Help: "Webhook delivery attempts, by outcome (succeeded, failed, refused) and the endpoint's status class.",
			}, []string{"outcome", "status_class"}),
			Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "reconlayer_webhook_delivery_duration_seconds",
				Help:    "Time from sending a webhook to the consumer's full answer, by outcome.",
				Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			}, []string{"outcome"}),
			Disabled: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "reconlayer_webhook_endpoints_disabled_total",
				Help: "Webhook endpoints disabled for failing without a success (or answering 410 Gone).",
			}),
		},
		Imports: &Imports{
			Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "reconlayer_import_rows_total",
				Help: "Rows of completed import batches, by file format and status (valid, invalid).",
			}, []string{"format", "status"}),
			Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "reconlayer_import_batches_total",
				Help: "Import batches parsed, by file format and outcome (completed, failed).",
			}, []string{"format", "outcome"}),
		},
		State:  newState(),
		Queues: newQueueCollector(),
		Pool:   newPoolCollector(),
	}
	r.all = []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build, r.HTTP.Requests, r.HTTP.Duration, r.HTTP.InFlight, r.Evidence, r.Matches,
		r.Tasks.Processed, r.Tasks.Duration,
		r.Webhooks.Deliveries, r.Webhooks.Duration, r.Webhooks.Disabled,
		r.Imports.Rows, r.Imports.Batches,
		r.State, r.Queues, r.Pool,
	}
	r.reg.MustRegister(r.all...)
	return r
}

// Gatherer exposes the registry for tests.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in the Prometheus exposition format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists the reconlayer_ families a process can expose, sorted, so
// dashboards and alert rules can be checked against them.
func (r *Registry) Names() []string {
	ch := make(chan *prometheus.Desc)
	go func() {
		for _, c := range r.all {
			c.Describe(ch)
		}
		close(ch)
	}()
	seen := map[string]bool{}
	for d := range ch {
		// A Desc keeps its name private; its String form is stable.
		if m := fqName.FindStringSubmatch(d.String()); m != nil && strings.HasPrefix(m[1], "reconlayer_") {
			seen[m[1]] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StatusClass turns an HTTP status code into its class label ("2xx"), and
// 0 (no answer) into "none".
func StatusClass(code int) string {
	if code < 100 || code > 599 {
		return "none"
	}
	return string(rune('0'+code/100)) + "xx"
}
