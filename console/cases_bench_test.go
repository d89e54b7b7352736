package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// BenchmarkCasesPage renders the Cases pages over 100,000 cases of one
// organization (and 20,000 of a neighbour sharing the tables), two audit
// events each, end to end through the router with a signed-in session: the
// list's first page and a deep keyset page, unfiltered and filtered, a
// search by reference, a case's page and the Audit page. The budget
// is 200 ms of server time a page. Run it with
// go test -run '^$' -bench CasesPage -benchtime 20x -count 5 ./console/
func BenchmarkCasesPage(b *testing.B) {
	bd := setup(b)
	org := bd.org("Big")
	bd.user(org, "ops@big.example", password)
	seedCases(b, bd, org, 100_000)
	seedCases(b, bd, bd.org("Neighbour"), 20_000)
	ctx := context.Background()
	// What an intent and its first evaluation leave in the audit trail.
	_, err := bd.pool.Exec(ctx, `
INSERT INTO audit_events (organization_id, payment_intent_id, case_id, event_type, actor, message, occurred_at)
SELECT c.organization_id, c.payment_intent_id, c.id, e.type, 'system', e.message, c.created_at + e.after
FROM reconciliation_cases c,
     (VALUES ('payment_intent.created', 'Payment intent created.', interval '0'),
             ('case.evaluated', 'Case evaluated: no evidence yet.', interval '1 second')) AS e(type, message, after)`)
	require.NoError(b, err)
	_, err = bd.pool.Exec(ctx, "VACUUM ANALYZE payment_intents, reconciliation_cases, audit_events")
	require.NoError(b, err)
	c := bd.client()
	c.mustSignIn("ops@big.example", password)

	// Deep pages start after the row a person would reach by paging on and
	// on: the 95,000th case, the 13,000th of the 14,286 needing review, the
	// 190,000th audit event.
	keyset := func(query string) string {
		var (
			t  time.Time
			id uuid.UUID
		)
		require.NoError(b, bd.pool.QueryRow(ctx, query, org).Scan(&t, &id))
		raw, err := json.Marshal(map[string]any{"t": t, "id": id})
		require.NoError(b, err)
		return url.QueryEscape(base64.RawURLEncoding.EncodeToString(raw))
	}
	deep := keyset(`SELECT created_at, id FROM reconciliation_cases WHERE organization_id = $1
ORDER BY created_at DESC, id DESC OFFSET 95000 LIMIT 1`)
	deepReview := keyset(`SELECT created_at, id FROM reconciliation_cases WHERE organization_id = $1 AND verdict = 'needs_review'
ORDER BY created_at DESC, id DESC OFFSET 13000 LIMIT 1`)
	deepAudit := keyset(`SELECT occurred_at, id FROM audit_events WHERE organization_id = $1
ORDER BY occurred_at DESC, id DESC OFFSET 190000 LIMIT 1`)
	var events int64 // the sign-in's own events too
	require.NoError(b, bd.pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE organization_id = $1", org).Scan(&events))
	allEvents := withThousands(events) + " events in all"
	var caseID uuid.UUID
	require.NoError(b, bd.pool.QueryRow(ctx, `SELECT c.id FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.organization_id = $1 AND pi.external_reference = 'seed-50000'`, org).Scan(&caseID))

	for _, bc := range []struct {
		name, path, want string
	}{
		{"list/first", "/console/cases", "100,000 cases in all."},
		{"list/deep", "/console/cases?cursor=" + deep, "100,000 cases in all; an older page."},
		{"list/first/needs_review", "/console/cases?verdict=needs_review", "14,286 cases match these filters."},
		{"list/deep/needs_review", "/console/cases?verdict=needs_review&cursor=" + deepReview, "14,286 cases match these filters; an older page."},
		{"list/first/open+amount_mismatch+sla_risk", "/console/cases?status=open&exceptionType=amount_mismatch&slaRisk=true&limit=100", "2,500 cases match these filters."},
		// No case matches: the keyset finds no 25 rows early and reads the
		// organization's every case, twice with the count (the worst a
		// filter does).
		{"list/first/none_match", "/console/cases?exceptionType=duplicate_evidence", "0 cases match these filters."},
		{"list/reference", "/console/cases?externalReference=seed-50000", "1 case matches these filters."},
		{"case", "/console/cases/" + caseID.String(), ""},
		{"audit/first", "/console/audit", allEvents + "."},
		{"audit/deep", "/console/audit?cursor=" + deepAudit, allEvents + "; an older page."},
		{"audit/case", "/console/audit?caseId=" + caseID.String(), "2 events match these filters."},
	} {
		p := c.get(bc.path) // warms the caches; checks the page is the one meant
		requireHTML(b, p, http.StatusOK)
		if bc.want != "" {
			got := p.text("case-count") + p.text("event-count")
			require.Equal(b, bc.want, got, bc.name)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if p := c.get(bc.path); p.Status != http.StatusOK {
					b.Fatal(p.Status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// withThousands writes n as the pages do: 200,002.
func withThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
