package api

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/resource"
)

// auditList reads GET /v1/audit-events with query and expects 200.
func auditList(t *testing.T, b *bundle, token, query string) listResponse[resource.AuditEvent] {
	t.Helper()
	path := "/v1/audit-events"
	if query != "" {
		path += "?" + query
	}
	rec := b.do(req{method: "GET", path: path, token: token})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	return decode[listResponse[resource.AuditEvent]](t, rec)
}

func auditTypes(events []resource.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventType
	}
	return out
}

func auditIDs(events []resource.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func TestAuditEventsNeedASession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	b.intent(org, "ref-1")
	for _, scopes := range [][]string{nil, {"reconciliation_cases:read"}} {
		key, _ := b.apiKey(org, scopes...)
		e := envelope(t, b.do(req{method: "GET", path: "/v1/audit-events", token: key}), 403, "forbidden")
		require.Contains(t, e.Message, "session")
	}
	envelope(t, b.do(req{method: "GET", path: "/v1/audit-events"}), 401, "unauthorized")
	require.EqualValues(t, 1, auditList(t, b, b.session("user_1", org), "").Total)
}

func TestAuditEventsListAndFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	start := time.Now().Add(-time.Second)

	first := b.intent(org, "ref-1")
	second := b.intent(org, "ref-2")
	key, keyRow := b.apiKey(org, "payment_intents:write")
	rec := b.do(req{method: "POST", path: "/v1/payment-intents", token: key, headers: map[string]string{"Idempotency-Key": uuid.NewString()},
		body: `{"externalReference":"ref-1","sourceAmount":"100","sourceCurrency":"USD","destinationAmount":"100",` +
			`"destinationCurrency":"USDC","paymentType":"stablecoin"}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	replay := decode[createIntentResponse](t, rec)
	require.Equal(t, "reused", replay.Outcome)
	require.Equal(t, first.Intent.ID.String(), replay.PaymentIntentID)
	require.Equal(t, first.Case.ID.String(), replay.CaseID)

	// Another organization's events, with the same reference, are never listed.
	other := b.org("Other")
	foreign := b.intent(other, "ref-1")

	all := auditList(t, b, tok, "")
	require.EqualValues(t, 3, all.Total)
	require.Equal(t, 25, all.Limit)
	require.Empty(t, all.NextCursor)
	require.Equal(t, []string{"payment_intent.replayed", "payment_intent.created", "payment_intent.created"},
		auditTypes(all.Items), "newest first")
	for i := 1; i < len(all.Items); i++ {
		require.False(t, all.Items[i].OccurredAt.After(all.Items[i-1].OccurredAt), "newest first")
	}

	// Every field of every event.
	want := []struct {
		intent, caseID uuid.UUID
		actor, ref     string
	}{
		{first.Intent.ID, first.Case.ID, "api_key:" + keyRow.ID.String(), "ref-1"},
		{second.Intent.ID, second.Case.ID, "test", "ref-2"},
		{first.Intent.ID, first.Case.ID, "test", "ref-1"},
	}
	for i, e := range all.Items {
		_, err := uuid.Parse(e.ID)
		require.NoError(t, err, "id")
		require.Equal(t, org.String(), e.OrganizationID)
		require.NotNil(t, e.PaymentIntentID)
		require.Equal(t, want[i].intent.String(), *e.PaymentIntentID, i)
		require.NotNil(t, e.CaseID)
		require.Equal(t, want[i].caseID.String(), *e.CaseID, i)
		require.Equal(t, want[i].actor, e.Actor, i)
		require.Nil(t, e.RawRecordID)
		require.Nil(t, e.ImportBatchID)
		require.Contains(t, e.Message, "Payment intent "+want[i].ref+" ", i)
		require.True(t, e.OccurredAt.After(start), e.OccurredAt)
		require.True(t, e.OccurredAt.Before(time.Now().Add(time.Second)), e.OccurredAt)
	}
	require.JSONEq(t, `null`, string(all.Items[0].Payload), "a replay carries no payload")
	require.JSONEq(t, `{"externalReference":"ref-2","paymentType":"stablecoin","ruleId":null}`, string(all.Items[1].Payload))
	require.JSONEq(t, `{"externalReference":"ref-1","paymentType":"stablecoin","ruleId":null}`, string(all.Items[2].Payload))

	// The wire shape names every field, absent ones as null.
	var raw struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	require.NoError(t, jsonUnmarshal(b.do(req{method: "GET", path: "/v1/audit-events", token: tok}).Body.String(), &raw))
	require.Len(t, raw.Items, 3)
	for _, item := range raw.Items {
		for _, k := range []string{"id", "organizationId", "paymentIntentId", "caseId", "rawRecordId", "importBatchId",
			"eventType", "actor", "payload", "message", "occurredAt"} {
			require.Contains(t, item, k)
		}
		var ts string
		require.NoError(t, json.Unmarshal(item["occurredAt"], &ts))
		_, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(t, err)
		require.Regexp(t, `Z$`, ts, "timestamps are UTC")
	}

	// Filters.
	replayed := auditList(t, b, tok, "eventType=payment_intent.replayed")
	require.EqualValues(t, 1, replayed.Total)
	require.Equal(t, []string{all.Items[0].ID}, auditIDs(replayed.Items))
	created := auditList(t, b, tok, "eventType=payment_intent.created")
	require.EqualValues(t, 2, created.Total)
	require.Equal(t, []string{all.Items[1].ID, all.Items[2].ID}, auditIDs(created.Items))
	none := auditList(t, b, tok, "eventType=case.resolved")
	require.Zero(t, none.Total)
	require.Empty(t, none.Items)

	byCase := auditList(t, b, tok, "caseId="+first.Case.ID.String())
	require.EqualValues(t, 2, byCase.Total)
	require.Equal(t, []string{all.Items[0].ID, all.Items[2].ID}, auditIDs(byCase.Items))
	byCase = auditList(t, b, tok, "caseId="+second.Case.ID.String())
	require.Equal(t, []string{all.Items[1].ID}, auditIDs(byCase.Items))
	byCase = auditList(t, b, tok, "caseId="+first.Case.ID.String()+"&eventType=payment_intent.created")
	require.Equal(t, []string{all.Items[2].ID}, auditIDs(byCase.Items))

	byIntent := auditList(t, b, tok, "paymentIntentId="+second.Intent.ID.String())
	require.EqualValues(t, 1, byIntent.Total)
	require.Equal(t, []string{all.Items[1].ID}, auditIDs(byIntent.Items))
	byIntent = auditList(t, b, tok, "paymentIntentId="+first.Intent.ID.String())
	require.Equal(t, []string{all.Items[0].ID, all.Items[2].ID}, auditIDs(byIntent.Items))

	// Time range: [from, to).
	rfc := func(ts time.Time) string { return url.QueryEscape(ts.UTC().Format(time.RFC3339Nano)) }
	past := auditList(t, b, tok, "to="+rfc(start.Add(-time.Hour)))
	require.Zero(t, past.Total)
	require.Empty(t, past.Items)
	window := auditList(t, b, tok, "from="+rfc(start)+"&to="+rfc(time.Now().Add(time.Minute)))
	require.EqualValues(t, 3, window.Total)
	future := auditList(t, b, tok, "from="+rfc(time.Now().Add(time.Minute)))
	require.Zero(t, future.Total)
	// from is inclusive, to exclusive: the first event's own instant splits the list.
	split := all.Items[2].OccurredAt
	require.Equal(t, []string{all.Items[2].ID}, auditIDs(auditList(t, b, tok, "to="+rfc(split.Add(time.Microsecond))).Items))
	require.Empty(t, auditList(t, b, tok, "to="+rfc(split)).Items)
	require.Equal(t, []string{all.Items[0].ID, all.Items[1].ID, all.Items[2].ID},
		auditIDs(auditList(t, b, tok, "from="+rfc(split)).Items))
	firstDay, lastDay := split.UTC().Format(time.DateOnly), all.Items[0].OccurredAt.UTC().Format(time.DateOnly)
	require.EqualValues(t, 3, auditList(t, b, tok, "from="+firstDay+"&to="+lastDay).Total, "a date `to` includes the whole day")

	// Paging: limit=1 and the cursor walk every event once, newest first.
	var walked []string
	cur := ""
	for range 10 {
		q := "limit=1"
		if cur != "" {
			q += "&cursor=" + cur
		}
		page := auditList(t, b, tok, q)
		require.EqualValues(t, 3, page.Total)
		walked = append(walked, auditIDs(page.Items)...)
		if cur = page.NextCursor; cur == "" {
			break
		}
	}
	require.Empty(t, cur)
	require.Equal(t, auditIDs(all.Items), walked)
	offset := auditList(t, b, tok, "limit=2&offset=1")
	require.Equal(t, []string{all.Items[1].ID, all.Items[2].ID}, auditIDs(offset.Items))

	// Bad parameters name their path.
	for query, path := range map[string]string{
		"caseId=not-a-uuid":             "caseId",
		"paymentIntentId=123":           "paymentIntentId",
		"from=yesterday":                "from",
		"to=2026-13-01":                 "to",
		"eventType=":                    "eventType",
		"limit=101":                     "limit",
		"cursor=garbage":                "cursor",
		"event_type=x":                  "event_type",
		"from=2026-01-02&to=2026-01-01": "to",
		"from=" + rfc(split) + "&to=" + rfc(split): "to",
	} {
		e := envelope(t, b.do(req{method: "GET", path: "/v1/audit-events?" + query, token: tok}), 400, "invalid_request")
		require.Len(t, e.Issues, 1, query)
		require.Equal(t, []string{path}, e.Issues[0].Path, query)
	}
	e := envelope(t, b.do(req{method: "GET", path: "/v1/audit-events?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", token: tok}),
		400, "invalid_request")
	require.Equal(t, []string{"to"}, e.Issues[0].Path)
	require.Equal(t, "Must be after from.", e.Issues[0].Message)

	// The other organization's events: only its own, and not reachable by id filter from Acme.
	foreignTok := b.session("user_2", other)
	theirs := auditList(t, b, foreignTok, "")
	require.EqualValues(t, 1, theirs.Total)
	require.Equal(t, other.String(), theirs.Items[0].OrganizationID)
	require.Equal(t, foreign.Case.ID.String(), *theirs.Items[0].CaseID)
	require.NotContains(t, auditIDs(all.Items), theirs.Items[0].ID)
	require.Zero(t, auditList(t, b, tok, "caseId="+foreign.Case.ID.String()).Total)
	require.Zero(t, auditList(t, b, tok, "paymentIntentId="+foreign.Intent.ID.String()).Total)
	require.Zero(t, auditList(t, b, foreignTok, "caseId="+first.Case.ID.String()).Total)
}

// The trail is append-only in the database itself: no update, no delete.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	one := b.intent(org, "ref-1")
	b.intent(org, "ref-2")
	before := auditList(t, b, tok, "")
	require.EqualValues(t, 2, before.Total)

	ctx := context.Background()
	for _, stmt := range []string{
		`UPDATE audit_events SET message = 'x'`,
		`UPDATE audit_events SET organization_id = organization_id`,
		`DELETE FROM audit_events`,
	} {
		_, err := b.pool.Exec(ctx, stmt)
		require.Error(t, err, stmt)
		require.ErrorContains(t, err, "append-only", stmt)
	}
	_, err := b.pool.Exec(ctx, `DELETE FROM audit_events WHERE case_id = $1`, one.Case.ID)
	require.ErrorContains(t, err, "append-only")
	_, err = b.pool.Exec(ctx, `UPDATE audit_events SET message = 'x' WHERE case_id = $1`, one.Case.ID)
	require.ErrorContains(t, err, "append-only")

	var n, changed int
	require.NoError(t, b.pool.QueryRow(ctx,
		`SELECT count(*), count(*) FILTER (WHERE message = 'x') FROM audit_events`).Scan(&n, &changed))
	require.Equal(t, 2, n)
	require.Zero(t, changed)
	require.Equal(t, before, auditList(t, b, tok, ""))

	// Appending still works.
	b.intent(org, "ref-3")
	require.EqualValues(t, 3, auditList(t, b, tok, "").Total)
}
