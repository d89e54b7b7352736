package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/rule"
)

// BenchmarkConsoleOverview is GET /console over 100,000 cases, end to end:
// the bound is 200 ms of server time per page (BENCHMARKS.md). A
// benchmark, not a test: timings on this shared machine are no assertion.
func BenchmarkConsoleOverview(b *testing.B) {
	c := bigOverview(b)
	for b.Loop() {
		if p := c.get("/console"); p.Status != http.StatusOK {
			b.Fatal(p.Status)
		}
	}
}

// bigOverview seeds an organization with 100,000 cases (and a neighbour
// with 20,000 sharing the table), signs a user of it in and loads the
// overview once, which warms the caches.
func bigOverview(t testing.TB) *client {
	b := setup(t)
	org := b.org("Big")
	b.user(org, "ops@big.example", password)
	seedCases(t, b, org, 100_000)
	seedCases(t, b, b.org("Neighbour"), 20_000)
	for i := range 30 {
		b.importBatch(org, "statement-"+uuid.NewString()+".csv", []string{"failed", "completed"}[i%2], "row 2: amount is not a number")
	}
	_, err := b.pool.Exec(context.Background(), "VACUUM ANALYZE payment_intents, reconciliation_cases, import_batches")
	require.NoError(t, err)
	c := b.client()
	c.mustSignIn("ops@big.example", password)
	p := c.get("/console")
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "100,000", p.text("count-total"))
	require.Equal(t, "15", p.text("failed-imports-total"))
	return c
}

// seedCases inserts n cases (and their intents) of org in two statements,
// spread over the last 30 days with a mix of verdicts and exceptions.
func seedCases(t testing.TB, b *bundle, org uuid.UUID, n int) {
	t.Helper()
	snapshot, err := json.Marshal(rule.Default(rule.PaymentStablecoin))
	require.NoError(t, err)
	_, err = b.pool.Exec(context.Background(), `
WITH snap AS (
    INSERT INTO rule_snapshots (organization_id, digest, snapshot)
    VALUES ($1, sha256(convert_to($3::text, 'UTF8')), $3::jsonb)
    ON CONFLICT (organization_id, digest) DO UPDATE SET snapshot = EXCLUDED.snapshot
    RETURNING id
), pi AS (
    INSERT INTO payment_intents (organization_id, external_reference, source_amount, source_currency,
        destination_amount, destination_currency, payment_type, direction, "references", metadata, created_at, updated_at)
    SELECT $1, 'seed-' || g, 100, 'USD', 100, 'USDC', 'stablecoin', 'debit', '[]', '{}',
        now() - (g % 43200) * interval '1 minute', now()
    FROM generate_series(1, $2::int) g
    RETURNING id, organization_id, destination_amount, created_at, substring(external_reference FROM 6)::int AS g
)
INSERT INTO reconciliation_cases (organization_id, payment_intent_id, expected_amount, expected_currency,
    required_legs_total, coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_snapshot_id,
    status, reconciliation_status, verdict, exception_type, sla_risk, created_at, updated_at)
SELECT organization_id, id, destination_amount, 'USDC', 2, 'missing', 'missing', 'not_required', 'not_required',
    (SELECT id FROM snap),
    (ARRAY['open', 'resolved', 'open', 'archived'])[1 + (g % 4)],
    (ARRAY['reconciled', 'unreconciled', 'tentatively_reconciled'])[1 + (g % 3)],
    (ARRAY['matched', 'matched_with_exception', 'needs_review', 'unreconciled', 'delayed', 'sla_risk', NULL])[1 + (g % 7)],
    (ARRAY['amount_mismatch', 'missing_leg', 'fee_out_of_tolerance', 'fx_variance', 'timing_delay', NULL, NULL, NULL])[1 + (g % 8)],
    g % 5 = 0,
    created_at, created_at
FROM pi`, org, n, string(snapshot))
	require.NoError(t, err)
}
