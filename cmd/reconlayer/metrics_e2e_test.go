package main

// The metrics each process exposes after a small workload (DESIGN §7, issue
// on observability): api, worker and scheduler run as separate processes,
// evidence and webhooks flow through them, and each /metrics is scraped,
// parsed, checked for the key series and values, and linted by promtool
// when it is installed (deploy/local/services.sh promtool).

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// scrape is one parsed /metrics answer.
type scrape struct {
	raw      string
	families map[string]*dto.MetricFamily
}

func scrapeMetrics(t *testing.T, base string) scrape {
	t.Helper()
	code, body := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code, body)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return scrape{raw: body, families: families}
}

// series returns the samples of name whose labels include want.
func (s scrape) series(name string, want map[string]string) []*dto.Metric {
	f := s.families[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// value sums the samples of name matching want (a counter, a gauge or a
// histogram's count), failing the test when there are none.
func (s scrape) value(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	ms := s.series(name, want)
	require.NotEmpty(t, ms, "no series %s%v in:\n%s", name, want, s.grep(name))
	total := 0.0
	for _, m := range ms {
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func (s scrape) grep(prefix string) string {
	var lines []string
	for _, l := range strings.Split(s.raw, "\n") {
		if strings.HasPrefix(l, prefix) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// promtoolCheck lints a scrape with `promtool check metrics` when promtool
// is installed.
func promtoolCheck(t *testing.T, process string, s scrape) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("promtool not installed (deploy/local/services.sh promtool): %s scrape not linted", process)
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(s.raw)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "promtool check metrics on the %s scrape:\n%s", process, out.String())
}

// e2eStartMetrics starts a process that serves only /metrics (worker,
// scheduler) on a free address and waits for its /health.
func e2eStartMetrics(t *testing.T, name string, env map[string]string, mode string) (*e2eProc, string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		p := e2eStart(t, name, e2eEnv(env, "RECONLAYER_METRICS_ADDR", addr), mode)
		base := "http://" + addr
		hc := &http.Client{Timeout: 5 * time.Second}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			resp, err := hc.Get(base + "/health")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return p, base
				}
			}
			if ok, err := p.exited(); ok {
				if attempt < 3 && strings.Contains(p.out.String(), "reconlayer: RECONLAYER_METRICS_ADDR: ") {
					break
				}
				t.Fatalf("%s exited before serving /metrics: %v\n%s", name, err, p.out.tail(20))
			}
			require.True(t, time.Now().Before(deadline), "%s: /health not up within 2 minutes", name)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func TestEachProcessExposesItsMetrics(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyDatabaseURL(t)
	_, redisURL := dbtest.Redis(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": redisURL,
		"RECONLAYER_SESSION_SECRET": adminSecret,
		"RECONLAYER_EVIDENCE_WAIT":  "30s",
		// The scheduler recounts cases, runs and endpoints every second.
		"RECONLAYER_STATE_GAUGE_INTERVAL":   "1s",
		"RECONLAYER_WEBHOOK_ALLOW_INSECURE": "true", "RECONLAYER_WEBHOOK_ALLOW_PRIVATE": "true",
	}
	e2eMigrateUp(t, env)
	_, apiBase := e2eStartServing(t, "api", e2eEnv(env, "RECONLAYER_METRICS_ADDR", "off"), "api")
	_, workerBase := e2eStartMetrics(t, "worker", env, "worker")
	_, schedulerBase := e2eStartMetrics(t, "scheduler", env, "scheduler")

	org, key := e2eOrgAndKey(t, dbURL)
	c := newE2EClient(apiBase, key)

	// Two webhook endpoints: one that takes everything, one that fails.
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(ok.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	for _, url := range []string{ok.URL, broken.URL} {
		e2eWebhookEndpoint(t, apiBase, dbURL, org, url+"/hooks", "payment_intent.created")
	}

	// The workload: two intents; evidence for the first (matched), the
	// same evidence again (a duplicate), evidence nothing claims
	// (unmatched), and a request for a case that does not exist.
	for _, ref := range []string{"order_1", "order_2"} {
		code, _, intent := c.call(t, http.MethodPost, "/v1/payment-intents", e2eIntent(ref, "100.00"), nil)
		require.Equal(t, http.StatusCreated, code, "%v", intent)
	}
	code, _, receipt := c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_1", "order_1", "100.00"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", receipt)
	require.Equal(t, "matched", receipt["status"], "%v", receipt)
	code, _, receipt = c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_1", "order_1", "100.00"), nil)
	require.Equal(t, http.StatusOK, code, "%v", receipt)
	require.Equal(t, true, receipt["duplicate"], "%v", receipt)
	code, _, receipt = c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_9", "order_9", "5.00"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", receipt)
	require.Equal(t, "unmatched", receipt["status"], "%v", receipt)
	code, _, _ = c.call(t, http.MethodGet, "/v1/reconciliation-cases/00000000-0000-4000-8000-000000000000", nil, nil)
	require.Equal(t, http.StatusNotFound, code)

	// api: requests by route template and status class, evidence by
	// source and outcome, the pool, the queues, the build.
	api := scrapeMetrics(t, apiBase)
	require.Equal(t, 3.0, api.value(t, "reconlayer_http_requests_total",
		map[string]string{"method": "POST", "route": "/v1/evidence/provider"}))
	require.Equal(t, 3.0, api.value(t, "reconlayer_http_requests_total",
		map[string]string{"method": "POST", "route": "/v1/evidence/provider", "status_class": "2xx"}),
		"two 201s and the duplicate's 200")
	require.Equal(t, 1.0, api.value(t, "reconlayer_http_requests_total",
		map[string]string{"route": "/v1/reconciliation-cases/:id", "status_class": "4xx"}))
	require.Empty(t, api.series("reconlayer_http_requests_total", map[string]string{"route": "/v1/reconciliation-cases/00000000-0000-4000-8000-000000000000"}),
		"a raw path is never a label")
	require.Equal(t, 3.0, api.value(t, "reconlayer_http_request_duration_seconds", map[string]string{"route": "/v1/evidence/provider"}))
	require.Equal(t, 2.0, api.value(t, "reconlayer_evidence_accepted_total", map[string]string{"source": "provider", "outcome": "new"}))
	require.Equal(t, 1.0, api.value(t, "reconlayer_evidence_accepted_total", map[string]string{"source": "provider", "outcome": "duplicate"}))
	require.Equal(t, 1.0, api.value(t, "reconlayer_http_requests_in_flight", nil), "the scrape itself")
	require.Equal(t, 1.0, api.value(t, "reconlayer_build_info", nil))
	require.Positive(t, api.value(t, "reconlayer_pgpool_max_connections", nil))
	require.Positive(t, api.value(t, "reconlayer_pgpool_acquires_total", nil))
	require.Positive(t, api.value(t, "reconlayer_pgpool_connections", nil))
	require.GreaterOrEqual(t, api.value(t, "reconlayer_worker_servers", nil), 1.0, "the worker's heartbeat")
	require.GreaterOrEqual(t, api.value(t, "reconlayer_queue_size", map[string]string{"queue": "default"}), 0.0)
	api.value(t, "reconlayer_queue_latency_seconds", map[string]string{"queue": "default"})
	api.value(t, "reconlayer_queue_tasks", map[string]string{"queue": "default", "state": "pending"})
	promtoolCheck(t, "api", api)

	// worker: tasks by type and outcome, match outcomes by strategy,
	// webhook deliveries by outcome and the endpoint's status class.
	var worker scrape
	require.Eventually(t, func() bool {
		worker = scrapeMetrics(t, workerBase)
		return len(worker.series("reconlayer_webhook_deliveries_total", map[string]string{"status_class": "5xx"})) > 0 &&
			len(worker.series("reconlayer_webhook_deliveries_total", map[string]string{"status_class": "2xx"})) > 0
	}, time.Minute, 200*time.Millisecond, "webhook attempts to both endpoints:\n%s", worker.grep("reconlayer_webhook"))
	require.Equal(t, 2.0, worker.value(t, "reconlayer_tasks_processed_total", map[string]string{"task_type": "evidence:match", "outcome": "succeeded"}))
	require.Equal(t, 2.0, worker.value(t, "reconlayer_task_duration_seconds", map[string]string{"task_type": "evidence:match"}))
	require.Equal(t, 1.0, worker.value(t, "reconlayer_match_outcomes_total", map[string]string{"outcome": "matched"}))
	require.Equal(t, 1.0, worker.value(t, "reconlayer_match_outcomes_total", map[string]string{"outcome": "unmatched", "strategy": "none"}))
	require.GreaterOrEqual(t, worker.value(t, "reconlayer_webhook_deliveries_total", map[string]string{"outcome": "succeeded", "status_class": "2xx"}), 2.0,
		"two intents created, each sent to the working endpoint")
	require.GreaterOrEqual(t, worker.value(t, "reconlayer_webhook_deliveries_total", map[string]string{"outcome": "failed", "status_class": "5xx"}), 1.0)
	require.Positive(t, worker.value(t, "reconlayer_tasks_processed_total", map[string]string{"task_type": "webhook:deliver"}))
	require.Empty(t, worker.series("reconlayer_http_requests_total", nil), "the worker serves no api")
	promtoolCheck(t, "worker", worker)

	// scheduler: the state gauges it refreshes from Postgres.
	var scheduler scrape
	require.Eventually(t, func() bool {
		scheduler = scrapeMetrics(t, schedulerBase)
		return len(scheduler.series("reconlayer_cases", map[string]string{"verdict": "matched"})) > 0
	}, time.Minute, 200*time.Millisecond, "the scheduler's case gauges:\n%s", scheduler.grep("reconlayer_cases"))
	require.Equal(t, 2.0, scheduler.value(t, "reconlayer_cases", map[string]string{"status": "open"})+
		sumOrZero(scheduler, "reconlayer_cases", map[string]string{"status": "resolved"}))
	require.Equal(t, 1.0, scheduler.value(t, "reconlayer_cases", map[string]string{"verdict": "matched", "reconciliation_status": "reconciled"}))
	require.Equal(t, 0.0, scheduler.value(t, "reconlayer_cases_sla_risk", nil))
	require.Equal(t, 0.0, scheduler.value(t, "reconlayer_cases_delayed", nil))
	require.Equal(t, 0.0, scheduler.value(t, "reconlayer_ledger_runs", map[string]string{"status": "running"}))
	require.Equal(t, 2.0, scheduler.value(t, "reconlayer_webhook_endpoints", nil))
	refreshed := scheduler.value(t, "reconlayer_gauges_refreshed_timestamp_seconds", nil)
	require.InDelta(t, float64(time.Now().Unix()), refreshed, 60)
	promtoolCheck(t, "scheduler", scheduler)
}

// sumOrZero is value for series that may not exist.
func sumOrZero(s scrape, name string, want map[string]string) float64 {
	total := 0.0
	for _, m := range s.series(name, want) {
		total += m.GetGauge().GetValue()
	}
	return total
}
