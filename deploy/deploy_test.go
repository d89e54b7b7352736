// Package deploy_test checks the monitoring files under deploy/: the Grafana dashboard and
// the Prometheus alert rules only name metrics the processes expose, the dashboard is
// importable, and promtool accepts the rules, their unit tests and the example config.
package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/metrics"
)

const (
	dashboardFile = "grafana/reconlayer.json"
	alertsFile    = "prometheus/alerts.yml"
	alertTests    = "prometheus/alerts_test.yml"
	configFile    = "prometheus/prometheus.yml"
)

// catalog is every reconlayer_ metric family the api, worker and scheduler expose
// (internal/metrics), by type. Histograms are also queried through their _bucket, _sum
// and _count series.
var catalog = map[string]string{
	"reconlayer_build_info":                            "gauge",
	"reconlayer_http_requests_total":                   "counter",
	"reconlayer_http_request_duration_seconds":         "histogram",
	"reconlayer_http_requests_in_flight":               "gauge",
	"reconlayer_evidence_accepted_total":               "counter",
	"reconlayer_match_outcomes_total":                  "counter",
	"reconlayer_tasks_processed_total":                 "counter",
	"reconlayer_task_duration_seconds":                 "histogram",
	"reconlayer_queue_size":                            "gauge",
	"reconlayer_queue_tasks":                           "gauge",
	"reconlayer_queue_latency_seconds":                 "gauge",
	"reconlayer_queue_processed_total":                 "counter",
	"reconlayer_queue_failed_total":                    "counter",
	"reconlayer_queue_paused":                          "gauge",
	"reconlayer_queue_collector_errors_total":          "counter",
	"reconlayer_worker_servers":                        "gauge",
	"reconlayer_cases":                                 "gauge",
	"reconlayer_cases_sla_risk":                        "gauge",
	"reconlayer_cases_delayed":                         "gauge",
	"reconlayer_ledger_runs":                           "gauge",
	"reconlayer_webhook_endpoints":                     "gauge",
	"reconlayer_gauges_refreshed_timestamp_seconds":    "gauge",
	"reconlayer_webhook_deliveries_total":              "counter",
	"reconlayer_webhook_delivery_duration_seconds":     "histogram",
	"reconlayer_webhook_endpoints_disabled_total":      "counter",
	"reconlayer_import_rows_total":                     "counter",
	"reconlayer_import_batches_total":                  "counter",
	"reconlayer_pgpool_connections":                    "gauge",
	"reconlayer_pgpool_max_connections":                "gauge",
	"reconlayer_pgpool_acquires_total":                 "counter",
	"reconlayer_pgpool_empty_acquires_total":           "counter",
	"reconlayer_pgpool_canceled_acquires_total":        "counter",
	"reconlayer_pgpool_acquire_duration_seconds_total": "counter",
}

// TestCatalogIsTheRegistry keeps the catalog above (with its types, which the
// registry does not tell) the same set of names as what processes expose.
func TestCatalogIsTheRegistry(t *testing.T) {
	t.Parallel()
	names := make([]string, 0, len(catalog))
	for n := range catalog {
		names = append(names, n)
	}
	require.ElementsMatch(t, metrics.New().Names(), names)
}

// known reports whether name is a catalog family or a series of a catalog histogram.
func known(name string) bool {
	if _, ok := catalog[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && catalog[base] == "histogram" {
			return true
		}
	}
	return false
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Datasource  *datasource `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row holds its panels
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// loadDashboard returns the dashboard and its query panels (rows left out, the panels of
// collapsed rows included).
func loadDashboard(t *testing.T) (dashboard, []panel) {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d), "%s is not JSON", dashboardFile)
	var panels []panel
	for _, p := range d.Panels {
		if p.Type == "row" {
			panels = append(panels, p.Panels...)
			continue
		}
		panels = append(panels, p)
	}
	return d, panels
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	d, panels := loadDashboard(t)

	require.Equal(t, "reconlayer", d.UID)
	require.Equal(t, "ReconLayer", d.Title)
	require.GreaterOrEqual(t, d.SchemaVersion, 39)
	require.Contains(t, d.Templating.List, variable{Name: "DS_PROMETHEUS", Type: "datasource", Query: "prometheus"},
		"the dashboard needs a DS_PROMETHEUS datasource variable so it imports into any Grafana")
	require.NotEmpty(t, panels)

	ids := map[int]bool{}
	titles := map[string]bool{}
	for _, p := range panels {
		require.NotEmpty(t, p.Title, "panel %d has no title", p.ID)
		require.False(t, titles[p.Title], "two panels are titled %q", p.Title)
		titles[p.Title] = true
		require.False(t, ids[p.ID], "panel id %d is used twice", p.ID)
		ids[p.ID] = true
		require.Contains(t, []string{"timeseries", "stat"}, p.Type, "panel %q", p.Title)
		require.NotEmpty(t, p.FieldConfig.Defaults.Unit, "panel %q has no unit", p.Title)
		require.Equal(t, &datasource{Type: "prometheus", UID: "${DS_PROMETHEUS}"}, p.Datasource, "panel %q", p.Title)

		exprs := 0
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.RefID, "panel %q has a target without refId", p.Title)
			if strings.TrimSpace(tg.Expr) != "" {
				exprs++
			}
		}
		require.Positive(t, exprs, "panel %q has no target with an expr", p.Title)
	}
}

// TestMetricNames keeps the dashboard, the alerts and their tests on the metric catalog: a
// renamed metric would otherwise leave a panel empty and an alert silent.
func TestMetricNames(t *testing.T) {
	t.Parallel()
	name := regexp.MustCompile(`reconlayer_[a-z0-9_]+`)
	for _, file := range []string{dashboardFile, alertsFile, alertTests} {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var unknown []string
		for _, n := range name.FindAllString(string(raw), -1) {
			if !known(n) && !slices.Contains(unknown, n) {
				unknown = append(unknown, n)
			}
		}
		slices.Sort(unknown)
		require.Empty(t, unknown, "%s names metrics that are not in the catalog", file)
	}
}

// TestAlertsShape checks what promtool does not: every alert waits (for), says how bad it
// is (severity) and explains itself (summary, description).
func TestAlertsShape(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	text := string(raw)

	start := regexp.MustCompile(`(?m)^\s*- alert:\s*(\S+)\s*$`)
	locs := start.FindAllStringSubmatchIndex(text, -1)
	var names []string
	for i, loc := range locs {
		name := text[loc[2]:loc[3]]
		names = append(names, name)
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		block := text[loc[0]:end]
		for _, field := range []string{`for:\s*\d+[smh]`, `severity:\s*(warning|critical)`, `summary:\s*\S`, `description:\s*\S`} {
			require.Regexp(t, `(?m)^\s+`+field, block, "alert %s", name)
		}
	}
	require.ElementsMatch(t, []string{
		"ReconLayerQueueLatencyHigh", "ReconLayerTasksFailing", "ReconLayerWebhookEndpointDisabled",
		"ReconLayerSLARiskRising", "ReconLayerAPI5xxRate", "ReconLayerNoWorkerHeartbeat",
	}, names)

	tests, err := os.ReadFile(alertTests)
	require.NoError(t, err)
	for _, name := range names {
		require.Contains(t, string(tests), "alertname: "+name, "%s has no unit test", name)
	}
}

// promtool returns the promtool binary, or skips the test when it is not installed.
func promtool(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH; install it with `deploy/local/services.sh promtool` (or apt-get install prometheus) to check the alert rules")
	}
	return bin
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
}

func TestPromtool(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"check", "rules", alertsFile},
		{"test", "rules", alertTests},
		// rule_files are resolved next to the config, so this also checks alerts.yml.
		{"check", "config", configFile},
	} {
		t.Run(strings.Join(args[:2], "_"), func(t *testing.T) {
			t.Parallel()
			runPromtool(t, args...)
		})
	}
}

// TestDashboardQueriesParse hands every panel query to promtool as a recording rule, so a
// typo in PromQL fails here rather than as an empty panel. Grafana's interval variables
// are replaced by a duration first.
func TestDashboardQueriesParse(t *testing.T) {
	t.Parallel()
	promtool(t)
	_, panels := loadDashboard(t)

	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")
	var rules []rule
	for _, p := range panels {
		for _, tg := range p.Targets {
			rules = append(rules, rule{Record: fmt.Sprintf("dashboard:panel_%d_%s", p.ID, strings.ToLower(tg.RefID)), Expr: vars.Replace(tg.Expr)})
		}
	}
	// JSON is YAML, which promtool reads.
	raw, err := json.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	require.NoError(t, os.WriteFile(file, raw, 0o600))
	runPromtool(t, "check", "rules", file)
}
