package api

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// overview answers GET /v1/dashboard/overview with query q, which must succeed.
func overview(t *testing.T, b *bundle, token, q string) string {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/dashboard/overview" + q, token: token})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec.Body.String()
}

// overviewCase creates a case in org and sets columns on it (set is the SET
// list of an UPDATE; empty leaves the case as created: open, unreconciled,
// no verdict).
func overviewCase(t *testing.T, b *bundle, org uuid.UUID, ref, set string) {
	t.Helper()
	r := b.intent(org, ref)
	if set == "" {
		return
	}
	_, err := b.pool.Exec(context.Background(), "UPDATE reconciliation_cases SET "+set+" WHERE id = $1", r.Case.ID)
	require.NoError(t, err)
}

// Every count against a known mix of cases, each state counted under each
// key it belongs to; every verdict key present, `none` for cases not judged
// yet; another organization's cases never counted.
func TestDashboardOverviewCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, other := b.org("Acme"), b.org("Other")
	key, _ := b.apiKey(org)
	otherKey, _ := b.apiKey(other)

	// An organization without cases: zeros, every key there, no bounds.
	require.JSONEq(t, `{"from": null, "to": null,
		"counts": {"total": 0, "open": 0, "reconciled": 0, "tentativelyReconciled": 0, "needsReview": 0, "unreconciled": 0, "exceptions": 0, "slaRisk": 0, "delayed": 0},
		"verdicts": {"matched": 0, "matched_with_exception": 0, "needs_review": 0, "unreconciled": 0, "sla_risk": 0, "delayed": 0, "none": 0}}`,
		overview(t, b, key, ""))

	overviewCase(t, b, org, "plain-1", "")
	overviewCase(t, b, org, "plain-2", "")
	overviewCase(t, b, org, "matched", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved'")
	overviewCase(t, b, org, "tentative", "verdict = 'matched', reconciliation_status = 'tentatively_reconciled'")
	overviewCase(t, b, org, "with-exception", "verdict = 'matched_with_exception', reconciliation_status = 'reconciled', "+
		"exception_type = 'fee_out_of_tolerance', status = 'resolved'")
	overviewCase(t, b, org, "review", "verdict = 'needs_review', exception_type = 'amount_mismatch'")
	overviewCase(t, b, org, "missing", "verdict = 'unreconciled', exception_type = 'missing_leg'")
	overviewCase(t, b, org, "late", "verdict = 'sla_risk', sla_risk = true")
	overviewCase(t, b, org, "delayed", "verdict = 'delayed', exception_type = 'timing_delay', sla_risk = true, status = 'archived'")
	// Other's cases would change every count if they leaked into Acme's.
	overviewCase(t, b, other, "other-matched", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved'")
	overviewCase(t, b, other, "other-delayed", "verdict = 'delayed', exception_type = 'timing_delay', sla_risk = true")
	overviewCase(t, b, other, "other-plain", "")

	require.JSONEq(t, `{"from": null, "to": null,
		"counts": {"total": 9, "open": 6, "reconciled": 2, "tentativelyReconciled": 1, "needsReview": 1, "unreconciled": 6, "exceptions": 4, "slaRisk": 2, "delayed": 1},
		"verdicts": {"matched": 2, "matched_with_exception": 1, "needs_review": 1, "unreconciled": 1, "sla_risk": 1, "delayed": 1, "none": 2}}`,
		overview(t, b, key, ""))
	require.JSONEq(t, `{"from": null, "to": null,
		"counts": {"total": 3, "open": 2, "reconciled": 1, "tentativelyReconciled": 0, "needsReview": 0, "unreconciled": 2, "exceptions": 1, "slaRisk": 1, "delayed": 1},
		"verdicts": {"matched": 1, "matched_with_exception": 0, "needs_review": 0, "unreconciled": 0, "sla_risk": 0, "delayed": 1, "none": 1}}`,
		overview(t, b, otherKey, ""))
}

// from is inclusive and to exclusive, on the case's createdAt; the answer
// echoes the bounds as parsed, in UTC (a date `to` is the midnight after it).
func TestDashboardOverviewBounds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	overviewCase(t, b, org, "before", "created_at = '2026-10-31T23:59:59.999999Z'")
	overviewCase(t, b, org, "at-from", "created_at = '2026-11-01T00:00:00Z', verdict = 'matched'")
	overviewCase(t, b, org, "inside", "created_at = '2026-11-10T12:00:00Z'")
	overviewCase(t, b, org, "last-day", "created_at = '2026-11-20T23:59:59Z'")
	overviewCase(t, b, org, "at-to", "created_at = '2026-11-21T00:00:00Z', verdict = 'needs_review'")

	type bounds struct {
		From     *string          `json:"from"`
		To       *string          `json:"to"`
		Counts   map[string]int64 `json:"counts"`
		Verdicts map[string]int64 `json:"verdicts"`
	}
	str := func(s string) *string { return &s }
	for q, want := range map[string]struct {
		from, to       *string
		total, matched int64
		review, none   int64
	}{
		"": {nil, nil, 5, 1, 1, 3},
		"?from=2026-11-01T00:00:00Z&to=2026-11-21T00:00:00Z": {str("2026-11-01T00:00:00Z"), str("2026-11-21T00:00:00Z"), 3, 1, 0, 2},
		"?from=2026-11-01&to=2026-11-20":                     {str("2026-11-01T00:00:00Z"), str("2026-11-21T00:00:00Z"), 3, 1, 0, 2},
		"?from=2026-11-01T02:00:00%2B02:00":                  {str("2026-11-01T00:00:00Z"), nil, 4, 1, 1, 2},
		"?from=2026-11-01T00:00:00.000001Z":                  {str("2026-11-01T00:00:00.000001Z"), nil, 3, 0, 1, 2},
		"?to=2026-11-01T00:00:00Z":                           {nil, str("2026-11-01T00:00:00Z"), 1, 0, 0, 1},
		"?to=2026-11-21T00:00:00Z":                           {nil, str("2026-11-21T00:00:00Z"), 4, 1, 0, 3},
		"?from=2026-12-01":                                   {str("2026-12-01T00:00:00Z"), nil, 0, 0, 0, 0},
	} {
		var got bounds
		require.NoError(t, jsonUnmarshal(overview(t, b, key, q), &got), q)
		require.Equal(t, want.from, got.From, q)
		require.Equal(t, want.to, got.To, q)
		require.Equal(t, want.total, got.Counts["total"], q)
		require.Equal(t, want.matched, got.Verdicts["matched"], q)
		require.Equal(t, want.review, got.Verdicts["needs_review"], q)
		require.Equal(t, want.none, got.Verdicts["none"], q)
	}
}

// Bad bounds and unknown parameters are 400 invalid_request naming the
// parameter; a key without reconciliation_cases:read is 403 naming the scope.
func TestDashboardOverviewRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	b.intent(org, "ref-1")

	for q, path := range map[string]string{
		"?from=last-week": "from",
		"?from=":          "from",
		"?to=2026-13-01":  "to",
		"?from=2026-11-02&to=2026-11-01T00:00:00Z": "to",
		"?verdict=matched":                         "verdict",
		"?limit=10":                                "limit",
		"?from=2026-11-01&From=2026-11-01":         "From",
	} {
		e := envelope(t, b.do(req{method: "GET", path: "/v1/dashboard/overview" + q, token: key}), 400, "invalid_request")
		require.Len(t, e.Issues, 1, q)
		require.Equal(t, []string{path}, e.Issues[0].Path, q)
	}
	e := envelope(t, b.do(req{method: "GET", path: "/v1/dashboard/overview?status=open", token: key}), 400, "invalid_request")
	require.Contains(t, e.Issues[0].Message, `Unknown query parameter "status"`)
	e = envelope(t, b.do(req{method: "GET", path: "/v1/dashboard/overview?from=yesterday", token: key}), 400, "invalid_request")
	require.Contains(t, e.Issues[0].Message, "RFC 3339")

	narrow, _ := b.apiKey(org, "payment_intents:read", "reconciliation_cases:write", "exports:read")
	e = envelope(t, b.do(req{method: "GET", path: "/v1/dashboard/overview", token: narrow}), 403, "forbidden")
	require.Equal(t, "reconciliation_cases:read", e.Details.(map[string]any)["requiredScope"])
	envelope(t, b.do(req{method: "GET", path: "/v1/dashboard/overview"}), 401, "unauthorized")
	envelope(t, b.do(req{method: "POST", path: "/v1/dashboard/overview", token: key}), 405, "method_not_allowed")

	reader, _ := b.apiKey(org, "reconciliation_cases:read")
	require.Contains(t, overview(t, b, reader, ""), `"total":1`)
}
