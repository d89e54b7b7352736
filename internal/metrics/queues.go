package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueCollector reports asynq's queues: size, tasks per state, latency (age
// of the oldest pending task), processed and failed totals, pause state, and
// how many worker servers have a live heartbeat. asynq/x/metrics has such a
// collector, but its names fail `promtool check metrics` (a gauge named
// _total) and it reads Redis on every scrape; this one reads Redis at most
// once per TTL whatever the number of scrapers, and serves the last reading
// in between.
type QueueCollector struct {
	mu        sync.Mutex
	inspector *asynq.Inspector
	ttl       time.Duration
	now       func() time.Time
	at        time.Time
	cached    []prometheus.Metric
	errors    prometheus.Counter
}

var (
	queueSizeDesc = prometheus.NewDesc("reconlayer_queue_size",
		"Tasks in an asynq queue, all states but completed.", []string{"queue"}, nil)
	queueTasksDesc = prometheus.NewDesc("reconlayer_queue_tasks",
		"Tasks in an asynq queue, by state.", []string{"queue", "state"}, nil)
	queueLatencyDesc = prometheus.NewDesc("reconlayer_queue_latency_seconds",
		"Age of the oldest pending task of an asynq queue (0 when none is pending).", []string{"queue"}, nil)
	queueProcessedDesc = prometheus.NewDesc("reconlayer_queue_processed_total",
		"Tasks an asynq queue has had processed, successfully or not, as counted in Redis.", []string{"queue"}, nil)
	queueFailedDesc = prometheus.NewDesc("reconlayer_queue_failed_total",
		"Task runs of an asynq queue that failed, as counted in Redis.", []string{"queue"}, nil)
	queuePausedDesc = prometheus.NewDesc("reconlayer_queue_paused",
		"1 when an asynq queue is paused.", []string{"queue"}, nil)
	workerServersDesc = prometheus.NewDesc("reconlayer_worker_servers",
		"Asynq worker servers with a live heartbeat in Redis.", nil, nil)
)

// DefaultQueueTTL is how long one reading of the queues is served.
const DefaultQueueTTL = 10 * time.Second

func newQueueCollector() *QueueCollector {
	return &QueueCollector{ttl: DefaultQueueTTL, now: time.Now, errors: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reconlayer_queue_collector_errors_total",
		Help: "Failed readings of the asynq queues from Redis (the previous reading is served meanwhile).",
	})}
}

// WatchQueues starts reporting the queues seen by inspector, reading Redis
// at most once per ttl (0: DefaultQueueTTL).
func (r *Registry) WatchQueues(inspector *asynq.Inspector, ttl time.Duration) {
	if ttl <= 0 {
		ttl = DefaultQueueTTL
	}
	r.Queues.mu.Lock()
	defer r.Queues.mu.Unlock()
	r.Queues.inspector, r.Queues.ttl = inspector, ttl
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueSizeDesc, queueTasksDesc, queueLatencyDesc, queueProcessedDesc, queueFailedDesc, queuePausedDesc, workerServersDesc} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector. Concurrent scrapes wait for one
// reading rather than each making their own.
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.inspector != nil && (c.cached == nil || c.now().Sub(c.at) >= c.ttl) {
		if ms, err := c.read(); err != nil {
			c.errors.Inc()
		} else {
			c.cached = ms
		}
		// A failed reading is not retried before the TTL either: Redis
		// being down must not turn every scrape into a slow timeout.
		c.at = c.now()
	}
	cached := c.cached
	c.mu.Unlock()
	for _, m := range cached {
		ch <- m
	}
	c.errors.Collect(ch)
}

func (c *QueueCollector) read() ([]prometheus.Metric, error) {
	queues, err := c.inspector.Queues()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	var ms []prometheus.Metric
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ms = append(ms, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	for _, q := range queues {
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			return nil, fmt.Errorf("read queue %s: %w", q, err)
		}
		gauge(queueSizeDesc, float64(info.Size), q)
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled, "retry": info.Retry,
			"archived": info.Archived, "completed": info.Completed, "aggregating": info.Aggregating,
		} {
			gauge(queueTasksDesc, float64(n), q, state)
		}
		gauge(queueLatencyDesc, info.Latency.Seconds(), q)
		ms = append(ms,
			prometheus.MustNewConstMetric(queueProcessedDesc, prometheus.CounterValue, float64(info.ProcessedTotal), q),
			prometheus.MustNewConstMetric(queueFailedDesc, prometheus.CounterValue, float64(info.FailedTotal), q))
		paused := 0.0
		if info.Paused {
			paused = 1
		}
		gauge(queuePausedDesc, paused, q)
	}
	servers, err := c.inspector.Servers()
	if err != nil {
		return nil, fmt.Errorf("list worker servers: %w", err)
	}
	gauge(workerServersDesc, float64(len(servers)))
	return ms, nil
}
