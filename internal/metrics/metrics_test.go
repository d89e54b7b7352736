package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// gaugeOf gathers r and returns name's sample whose labels are exactly
// want, as a collector testutil.ToFloat64 can read.
func gaugeOf(t *testing.T, r *Registry, name string, want map[string]string) prometheus.Collector {
	t.Helper()
	families, err := r.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsAre(m, want) {
				return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sample", Help: "sample"},
					func() float64 { return m.GetGauge().GetValue() })
			}
		}
	}
	t.Fatalf("no sample %s%v", name, want)
	return nil
}

func labelsAre(m *dto.Metric, want map[string]string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func TestNamesListsEveryFamily(t *testing.T) {
	t.Parallel()
	names := New().Names()
	for _, want := range []string{
		"reconlayer_build_info", "reconlayer_http_requests_total", "reconlayer_http_request_duration_seconds",
		"reconlayer_tasks_processed_total", "reconlayer_queue_latency_seconds", "reconlayer_worker_servers",
		"reconlayer_cases", "reconlayer_cases_sla_risk", "reconlayer_pgpool_connections",
		"reconlayer_webhook_endpoints_disabled_total", "reconlayer_import_rows_total",
	} {
		require.Contains(t, names, want)
	}
	for _, n := range names {
		require.True(t, strings.HasPrefix(n, "reconlayer_"), n)
	}
}

func TestStatusClass(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{0: "none", 99: "none", 200: "2xx", 204: "2xx", 302: "3xx", 404: "4xx", 503: "5xx", 600: "none"} {
		require.Equal(t, want, StatusClass(code), "%d", code)
	}
}
