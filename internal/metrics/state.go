package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reconlayer/reconlayer/internal/db"
)

var (
	casesDesc = prometheus.NewDesc("reconlayer_cases",
		"Reconciliation cases (not archived), by status, verdict (none before the first evaluation) and reconciliation status.",
		[]string{"status", "verdict", "reconciliation_status"}, nil)
	slaRiskDesc = prometheus.NewDesc("reconlayer_cases_sla_risk",
		"Open reconciliation cases at risk of missing their SLA.", nil, nil)
	delayedDesc = prometheus.NewDesc("reconlayer_cases_delayed",
		"Open reconciliation cases whose verdict is delayed.", nil, nil)
	ledgerRunsDesc = prometheus.NewDesc("reconlayer_ledger_runs",
		"Ledger reconciliation runs, by status.", []string{"status"}, nil)
	endpointsDesc = prometheus.NewDesc("reconlayer_webhook_endpoints",
		"Webhook endpoints, by status (active, disabled).", []string{"status"}, nil)
	refreshedDesc = prometheus.NewDesc("reconlayer_gauges_refreshed_timestamp_seconds",
		"When the scheduler last refreshed the case, run and endpoint gauges (Unix time).", nil, nil)
)

// State is the gauges of what Postgres holds: cases by verdict, SLA risk,
// ledger runs, webhook endpoints. Counting them takes queries over every
// organization, so the scheduler refreshes them on an interval (Run) and a
// scrape only reads the last snapshot; a process that never refreshed shows
// none of these series, so max() across processes sees only real counts.
type State struct {
	mu   sync.Mutex
	snap *snapshot
}

type caseKey struct{ status, verdict, reconciliation string }

type snapshot struct {
	cases            map[caseKey]int64
	slaRisk, delayed int64
	runs, endpoints  map[string]int64
	at               time.Time
}

func newState() *State { return &State{} }

// Describe implements prometheus.Collector.
func (s *State) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{casesDesc, slaRiskDesc, delayedDesc, ledgerRunsDesc, endpointsDesc, refreshedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *State) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	snap := s.snap
	s.mu.Unlock()
	if snap == nil {
		return
	}
	for k, n := range snap.cases {
		ch <- prometheus.MustNewConstMetric(casesDesc, prometheus.GaugeValue, float64(n), k.status, k.verdict, k.reconciliation)
	}
	ch <- prometheus.MustNewConstMetric(slaRiskDesc, prometheus.GaugeValue, float64(snap.slaRisk))
	ch <- prometheus.MustNewConstMetric(delayedDesc, prometheus.GaugeValue, float64(snap.delayed))
	for status, n := range snap.runs {
		ch <- prometheus.MustNewConstMetric(ledgerRunsDesc, prometheus.GaugeValue, float64(n), status)
	}
	for status, n := range snap.endpoints {
		ch <- prometheus.MustNewConstMetric(endpointsDesc, prometheus.GaugeValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(refreshedDesc, prometheus.GaugeValue, float64(snap.at.UnixMilli())/1e3)
}

// ledgerRunStatuses and endpointStatuses are every value the schema allows:
// a status with no rows is reported as 0 rather than vanishing.
var (
	ledgerRunStatuses = []string{"pending", "running", "completed", "failed", "closed"}
	endpointStatuses  = []string{"active", "disabled"}
)

// Refresh counts from Postgres and replaces the snapshot.
func (s *State) Refresh(ctx context.Context, q *db.Queries) error {
	snap := &snapshot{cases: map[caseKey]int64{}, runs: map[string]int64{}, endpoints: map[string]int64{}, at: time.Now()}
	cases, err := q.CountCasesByState(ctx)
	if err != nil {
		return fmt.Errorf("count cases: %w", err)
	}
	for _, c := range cases {
		snap.cases[caseKey{c.Status, c.Verdict, c.ReconciliationStatus}] += c.Cases
		if c.Status != "open" {
			continue
		}
		if c.SlaRisk {
			snap.slaRisk += c.Cases
		}
		if c.Verdict == "delayed" {
			snap.delayed += c.Cases
		}
	}
	for _, st := range ledgerRunStatuses {
		snap.runs[st] = 0
	}
	runs, err := q.CountLedgerRunsByStatus(ctx)
	if err != nil {
		return fmt.Errorf("count ledger runs: %w", err)
	}
	for _, r := range runs {
		snap.runs[r.Status] = r.Runs
	}
	for _, st := range endpointStatuses {
		snap.endpoints[st] = 0
	}
	endpoints, err := q.CountWebhookEndpointsByStatus(ctx)
	if err != nil {
		return fmt.Errorf("count webhook endpoints: %w", err)
	}
	for _, e := range endpoints {
		snap.endpoints[e.Status] = e.Endpoints
	}
	s.mu.Lock()
	s.snap = snap
	s.mu.Unlock()
	return nil
}

// Run refreshes at once and then every interval until ctx ends. A failed
// refresh keeps the previous snapshot (its timestamp shows its age).
func (s *State) Run(ctx context.Context, q *db.Queries, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Refresh(ctx, q); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "refresh state gauges", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
