package metrics

import (
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector reports a pgxpool's statistics, read at scrape time (Stat
// is a cheap in-process snapshot). IBM/pgxpoolprometheus does the same but
// names its counters without _total and its durations in nanoseconds, which
// `promtool check metrics` rejects.
type PoolCollector struct {
	mu   sync.Mutex
	pool *pgxpool.Pool
}

var (
	poolConnsDesc = prometheus.NewDesc("reconlayer_pgpool_connections",
		"Postgres pool connections, by state (acquired, idle, constructing).", []string{"state"}, nil)
	poolMaxDesc = prometheus.NewDesc("reconlayer_pgpool_max_connections",
		"Most connections the Postgres pool may open.", nil, nil)
	poolAcquiresDesc = prometheus.NewDesc("reconlayer_pgpool_acquires_total",
		"Connections acquired from the Postgres pool.", nil, nil)
	poolEmptyDesc = prometheus.NewDesc("reconlayer_pgpool_empty_acquires_total",
		"Acquires that had to wait because the Postgres pool had no idle connection.", nil, nil)
	poolCanceledDesc = prometheus.NewDesc("reconlayer_pgpool_canceled_acquires_total",
		"Acquires from the Postgres pool given up by their caller.", nil, nil)
	poolAcquireSecondsDesc = prometheus.NewDesc("reconlayer_pgpool_acquire_duration_seconds_total",
		"Time spent acquiring connections from the Postgres pool.", nil, nil)
)

func newPoolCollector() *PoolCollector { return &PoolCollector{} }

// WatchPool starts reporting pool's statistics.
func (r *Registry) WatchPool(pool *pgxpool.Pool) {
	r.Pool.mu.Lock()
	defer r.Pool.mu.Unlock()
	r.Pool.pool = pool
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxDesc, poolAcquiresDesc, poolEmptyDesc, poolCanceledDesc, poolAcquireSecondsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	pool := c.pool
	c.mu.Unlock()
	if pool == nil {
		return
	}
	s := pool.Stat()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolConnsDesc, float64(s.AcquiredConns()), "acquired")
	gauge(poolConnsDesc, float64(s.IdleConns()), "idle")
	gauge(poolConnsDesc, float64(s.ConstructingConns()), "constructing")
	gauge(poolMaxDesc, float64(s.MaxConns()))
	counter(poolAcquiresDesc, float64(s.AcquireCount()))
	counter(poolEmptyDesc, float64(s.EmptyAcquireCount()))
	counter(poolCanceledDesc, float64(s.CanceledAcquireCount()))
	counter(poolAcquireSecondsDesc, s.AcquireDuration().Seconds())
}
