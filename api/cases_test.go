package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/resource"
)

func caseIDs(l listResponse[resource.Case]) []string {
	out := make([]string, len(l.Items))
	for i, c := range l.Items {
		out[i] = c.PaymentIntent.ExternalReference
	}
	return out
}

// Every filter of the case list, each against cases that differ in exactly
// what it filters on.
func TestCaseListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	ctx := context.Background()
	mk := func(ref, set string) string {
		r := b.intent(org, ref)
		if set != "" {
			_, err := b.pool.Exec(ctx, "UPDATE reconciliation_cases SET "+set+" WHERE id = $1", r.Case.ID)
			require.NoError(t, err)
		}
		return r.Intent.ID.String()
	}
	mk("plain", "")
	mk("matched", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved'")
	mk("review", "verdict = 'needs_review', exception_type = 'amount_mismatch'")
	mk("late", "verdict = 'sla_risk', sla_risk = true, created_at = now() - interval '10 days'")
	tentative := mk("tentative", "reconciliation_status = 'tentatively_reconciled', verdict = 'matched_with_exception', exception_type = 'fee_out_of_tolerance'")
	mk("archived", "status = 'archived', verdict = 'delayed', exception_type = 'timing_delay'")
	b.intent(b.org("Other"), "plain") // never listed for Acme

	list := func(q string) listResponse[resource.Case] {
		t.Helper()
		rec := b.do(req{method: "GET", path: "/v1/reconciliation-cases" + q, token: key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return decode[listResponse[resource.Case]](t, rec)
	}
	for q, want := range map[string][]string{
		"":                                 {"archived", "tentative", "review", "matched", "plain", "late"},
		"?status=open":                     {"tentative", "review", "plain", "late"},
		"?status=resolved":                 {"matched"},
		"?reconciliationStatus=reconciled": {"matched"},
		"?reconciliationStatus=tentatively_reconciled": {"tentative"},
		"?verdict=matched":                           {"matched"},
		"?verdict=matched&verdict=needs_review":      {"review", "matched"},
		"?verdict=delayed,sla_risk":                  {"archived", "late"},
		"?exceptionType=amount_mismatch":             {"review"},
		"?slaRisk=true":                              {"late"},
		"?slaRisk=false":                             {"archived", "tentative", "review", "matched", "plain"},
		"?externalReference=review":                  {"review"},
		"?paymentIntentId=" + tentative:              {"tentative"},
		"?to=" + dayAgo():                            {"late"},
		"?from=" + dayAgo():                          {"archived", "tentative", "review", "matched", "plain"},
		"?status=open&verdict=sla_risk,needs_review": {"review", "late"},
	} {
		l := list(q)
		require.Equal(t, want, caseIDs(l), q)
		require.EqualValues(t, len(want), l.Total, q)
	}
	// Lists leave the audit trail to the case read; the array is still there.
	l := list("?externalReference=plain")
	require.Equal(t, "plain", l.Items[0].PaymentIntent.ExternalReference)
	require.NotNil(t, l.Items[0].FlowLegs)

	for _, bad := range []string{"?status=closed", "?verdict=great", "?verdict=matched,nope", "?slaRisk=yes",
		"?paymentIntentId=42", "?from=last-week", "?exceptionType=oops", "?reconciliationStatus=done",
		"?from=2026-01-02&to=2026-01-01", "?verdicts=matched", "?externalReference="} {
		e := envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-cases" + bad, token: key}), 400, "invalid_request")
		require.NotEmpty(t, e.Issues, bad)
	}
}

func dayAgo() string {
	return time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02T15:04:05Z")
}

// Pagination edges: limit 0, 101, negative offset, bad cursor; offset past
// the end; cursor walks every row exactly once while rows keep arriving.
func TestCasePaginationEdges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	b.bulkCases(org, 7)

	for q, path := range map[string]string{
		"?limit=0": "limit", "?limit=101": "limit", "?limit=-1": "limit", "?limit=ten": "limit",
		"?offset=-1": "offset", "?offset=x": "offset", "?cursor=garbage": "cursor", "?cursor=": "cursor",
		"?cursor=" + encodeCursor(time.Now(), uuid.New()) + "&offset=2": "offset", "?page=2": "page",
	} {
		e := envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-cases" + q, token: key}), 400, "invalid_request")
		require.Equal(t, []string{path}, e.Issues[0].Path, q)
	}

	get := func(q string) listResponse[resource.Case] {
		rec := b.do(req{method: "GET", path: "/v1/reconciliation-cases" + q, token: key})
		require.Equal(t, 200, rec.Code, rec.Body.String())
		return decode[listResponse[resource.Case]](t, rec)
	}
	def := get("")
	require.Equal(t, 25, def.Limit)
	require.Len(t, def.Items, 7)
	require.Empty(t, def.NextCursor, "a short page has no next cursor")
	require.Len(t, get("?limit=100").Items, 7)

	past := get("?offset=50")
	require.Empty(t, past.Items)
	require.NotNil(t, past.Items, "items is [] not null")
	require.EqualValues(t, 7, past.Total)
	require.Equal(t, 50, past.Offset)

	byOffset := get("?limit=3&offset=3")
	require.Len(t, byOffset.Items, 3)
	require.Equal(t, def.Items[3].ID, byOffset.Items[0].ID)

	seen := map[string]bool{}
	page := get("?limit=3")
	first := true
	for {
		for _, c := range page.Items {
			require.False(t, seen[c.ID])
			seen[c.ID] = true
		}
		if first {
			// New cases arriving mid-walk do not shift a keyset walk.
			b.intent(org, "arrived-late")
			first = false
		}
		if page.NextCursor == "" {
			break
		}
		page = get("?limit=3&cursor=" + page.NextCursor)
	}
	require.Len(t, seen, 7, "the walk saw every case that existed when it began, once")
}

func TestCaseActionsAndTransitions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, apiKey := b.apiKey(org)
	cs := b.intent(org, "order-1").Case
	base := "/v1/reconciliation-cases/" + cs.ID.String()
	act := func(action, body string) *httptest.ResponseRecorder {
		return b.do(req{method: "POST", path: base + "/" + action, token: key, body: body,
			headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	}
	ok := func(action, body string) resource.Case {
		t.Helper()
		rec := act(action, body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return decode[resource.Case](t, rec)
	}
	conflict := func(action string) {
		t.Helper()
		e := envelope(t, act(action, ""), http.StatusConflict, "invalid_case_transition")
		require.Equal(t, action, e.Details.(map[string]any)["action"])
	}

	c := ok("notes", `{"note":"Customer says the transfer left on Monday."}`)
	require.Equal(t, "Customer says the transfer left on Monday.", *c.Notes)
	require.EqualValues(t, 2, c.Version)
	require.Equal(t, "case.note_added", c.AuditEvents[len(c.AuditEvents)-1].EventType)
	require.Equal(t, "api_key:"+apiKey.ID.String(), c.AuditEvents[len(c.AuditEvents)-1].Actor)

	c = ok("resolve", `{"reason":"confirmed with the bank"}`)
	require.Equal(t, "resolved", c.Status)
	require.NotNil(t, c.ResolvedAt)
	require.EqualValues(t, 3, c.Version)
	conflict("resolve")

	c = ok("reopen", "")
	require.Equal(t, "open", c.Status)
	require.Nil(t, c.ResolvedAt)
	conflict("reopen")

	c = ok("rerun", "")
	require.NotNil(t, c.LastRunAt)
	n := len(c.AuditEvents)
	require.Equal(t, []string{"case.evaluated", "case.rerun"},
		[]string{c.AuditEvents[n-2].EventType, c.AuditEvents[n-1].EventType}, "the evaluation, then who asked for it")

	c = ok("archive", `{}`)
	require.Equal(t, "archived", c.Status)
	conflict("archive")
	conflict("resolve")
	conflict("rerun")
	c = ok("notes", `{"note":"kept for the auditors"}`)
	require.Equal(t, "archived", c.Status, "notes are allowed on archived cases")
	c = ok("reopen", "")
	require.Equal(t, "open", c.Status)

	types := []string{}
	for _, e := range c.AuditEvents {
		types = append(types, e.EventType)
	}
	require.Equal(t, []string{"payment_intent.created", "case.note_added", "case.resolved", "case.reopened",
		"case.evaluated", "case.rerun", "case.archived", "case.note_added", "case.reopened"}, types)
	require.EqualValues(t, 8, c.Version, "every change bumps the version")

	// Bad bodies change nothing; actions need an Idempotency-Key; replays answer the same.
	envelope(t, act("notes", `{"note":"   "}`), 400, "invalid_request")
	envelope(t, act("resolve", `{"reason":7}`), 400, "invalid_request")
	envelope(t, b.do(req{method: "POST", path: base + "/resolve", token: key}), 400, "invalid_idempotency_key")
	h := map[string]string{"Idempotency-Key": uuid.NewString()}
	r1 := b.do(req{method: "POST", path: base + "/notes", token: key, body: `{"note":"once"}`, headers: h})
	r2 := b.do(req{method: "POST", path: base + "/notes", token: key, body: `{"note":"once"}`, headers: h})
	require.Equal(t, r1.Body.String(), r2.Body.String())
	require.Equal(t, "true", r2.Header().Get("Idempotency-Replayed"))
	after := decode[resource.Case](t, b.do(req{method: "GET", path: base, token: key}))
	require.EqualValues(t, 9, after.Version, "the replayed note was applied once")
}
