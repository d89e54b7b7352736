package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/rule"
)

// seedCaseFields are the keys of the case object in seed 001; every one must
// be present (null where it does not apply), never omitted.
var seedCaseFields = []string{"id", "organizationId", "paymentIntentId", "expectedAmount", "actualAmount",
	"exceptionType", "createdAt", "updatedAt", "paymentIntent", "verdict", "unexplainedDelta", "slaAgeMinutes",
	"slaRisk", "requiredLegsTotal", "requiredLegsPresent", "evidenceCoverage", "flowLegs", "providerFee",
	"networkFee", "developerFee", "fxSpread", "roundingDelta", "notes", "reconciledAt", "lastRunAt", "auditEvents"}

var seedIntentFields = []string{"id", "organizationId", "externalReference", "source", "destination", "paymentType",
	"paymentSubtype", "stablecoin", "chain", "beneficiaryAccount", "beneficiaryName", "status", "createdAt", "updatedAt"}

var seedAuditFields = []string{"id", "organizationId", "paymentIntentId", "caseId", "rawRecordId", "importBatchId",
	"eventType", "actor", "payload", "message", "occurredAt"}

func requireKeys(t *testing.T, obj map[string]any, keys []string) {
	t.Helper()
	for _, k := range keys {
		_, ok := obj[k]
		require.True(t, ok, "field %q is missing from %v", k, sortedKeys(obj))
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const stablecoinIntent = `{"externalReference":"order_1001","sourceAmount":"100.00","sourceCurrency":"USD",
	"destinationAmount":"99.50","destinationCurrency":"USDC","paymentType":"stablecoin","paymentSubtype":"payout",
	"direction":"debit","stablecoin":"USDC","chain":"ethereum","beneficiaryAccount":"0x52908400098527886E0F7030069857D2E4169EE7",
	"beneficiaryName":"Ada Lovelace","expectedFxRate":"0.995","developerFeeExpected":"0.25","providerTransferId":"tr_123",
	"references":[{"type":"invoice","value":"INV-7"}],"metadata":{"customer":"c_9"}}`

// The quickstart (seed 000): step 2 creates an intent with an API key, step 4
// reads its case back.
func TestWalkthroughCreateIntentThenFetchCase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "payment_intents:write", "payment_intents:read", "reconciliation_cases:read")

	rec := b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: stablecoinIntent,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "false", rec.Header().Get("Idempotency-Replayed"))
	created := decode[map[string]any](t, rec)
	require.Equal(t, []string{"caseId", "externalReference", "outcome", "paymentIntentId", "status", "verdict"}, sortedKeys(created))
	require.Equal(t, "order_1001", created["externalReference"])
	require.Equal(t, "pending", created["status"])
	require.Nil(t, created["verdict"])
	require.Equal(t, "created", created["outcome"])

	rec = b.do(req{method: "GET", path: "/v1/reconciliation-cases/" + created["caseId"].(string), token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	cs := decode[map[string]any](t, rec)
	requireKeys(t, cs, seedCaseFields)
	requireKeys(t, cs["paymentIntent"].(map[string]any), seedIntentFields)
	require.Equal(t, created["paymentIntentId"], cs["paymentIntentId"])
	require.Equal(t, "open", cs["status"])
	require.Equal(t, "unreconciled", cs["reconciliationStatus"])
	require.Nil(t, cs["verdict"])
	require.Equal(t, "99.5", cs["expectedAmount"])
	require.Nil(t, cs["actualAmount"])
	require.Equal(t, []any{}, cs["flowLegs"])
	require.EqualValues(t, 2, cs["requiredLegsTotal"])
	require.EqualValues(t, 0, cs["requiredLegsPresent"])
	require.Equal(t, map[string]any{"expected": "present", "provider": "missing", "chain": "missing",
		"bank": "not_required", "file": "not_required"}, cs["evidenceCoverage"])
	pi := cs["paymentIntent"].(map[string]any)
	require.Equal(t, map[string]any{"amount": "100", "currency": "USD"}, pi["source"])
	require.Equal(t, map[string]any{"amount": "99.5", "currency": "USDC"}, pi["destination"])
	require.Equal(t, "USDC", pi["stablecoin"])
	events := cs["auditEvents"].([]any)
	require.Len(t, events, 1)
	ev := events[0].(map[string]any)
	requireKeys(t, ev, seedAuditFields)
	require.Equal(t, "payment_intent.created", ev["eventType"])
	require.True(t, strings.HasPrefix(ev["actor"].(string), "api_key:"))

	// The intent itself, with every field it was created with.
	rec = b.do(req{method: "GET", path: "/v1/payment-intents/" + created["paymentIntentId"].(string), token: key})
	require.Equal(t, http.StatusOK, rec.Code)
	detail := decode[map[string]any](t, rec)
	require.Equal(t, "0.995", detail["expectedFxRate"])
	require.Equal(t, "0.25", detail["developerFeeExpected"])
	require.Equal(t, "tr_123", detail["providerTransferId"])
	require.Equal(t, []any{map[string]any{"type": "invoice", "value": "INV-7"}}, detail["references"])
	require.Equal(t, map[string]any{"customer": "c_9"}, detail["metadata"])
	require.Equal(t, created["caseId"], detail["case"].(map[string]any)["id"])
	require.Len(t, detail["auditEvents"], 1)
}

func TestIntentBusinessUniqueness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	post := func(body string) *httptest.ResponseRecorder {
		return b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: body,
			headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	}
	first := decode[map[string]any](t, post(stablecoinIntent))

	// Same canonical fields, other formatting and other non-canonical fields: reused.
	same := strings.NewReplacer(`"100.00"`, `"100"`, `"99.50"`, `"99.5"`, `"c_9"`, `"c_10"`).Replace(stablecoinIntent)
	rec := post(same)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	reused := decode[map[string]any](t, rec)
	require.Equal(t, "reused", reused["outcome"])
	require.Equal(t, first["paymentIntentId"], reused["paymentIntentId"])
	require.Equal(t, first["caseId"], reused["caseId"])

	// Any canonical difference: 409 naming each field with both values.
	for _, tc := range []struct{ from, to, field string }{
		{`"100.00"`, `"100.01"`, "sourceAmount"},
		{`"sourceCurrency":"USD"`, `"sourceCurrency":"EUR"`, "sourceCurrency"},
		{`"99.50"`, `"99.49"`, "destinationAmount"},
		{`"destinationCurrency":"USDC"`, `"destinationCurrency":"USDT"`, "destinationCurrency"},
		{`"paymentType":"stablecoin"`, `"paymentType":"other"`, "paymentType"},
		{`"chain":"ethereum"`, `"chain":"polygon"`, "chain"},
		{`"stablecoin":"USDC"`, `"stablecoin":"USDT"`, "stablecoin"},
		{`"Ada Lovelace"`, `"Charles Babbage"`, "beneficiaryName"},
		{`"0x52908400098527886E0F7030069857D2E4169EE7"`, `"0x0000000000000000000000000000000000000001"`, "beneficiaryAccount"},
		{`"direction":"debit"`, `"direction":"credit"`, "direction"},
	} {
		e := envelope(t, post(strings.Replace(stablecoinIntent, tc.from, tc.to, 1)), http.StatusConflict, "payment_intent_conflict")
		d := e.Details.(map[string]any)
		require.Equal(t, first["paymentIntentId"], d["paymentIntentId"])
		conflicts := d["conflicts"].([]any)
		require.Len(t, conflicts, 1, tc.field)
		c := conflicts[0].(map[string]any)
		require.Equal(t, tc.field, c["field"])
		require.NotEqual(t, c["stored"], c["requested"])
	}
	// Two fields at once are both listed.
	e := envelope(t, post(strings.NewReplacer(`"100.00"`, `"5"`, `"ethereum"`, `"base"`).Replace(stablecoinIntent)), 409, "payment_intent_conflict")
	require.Len(t, e.Details.(map[string]any)["conflicts"], 2)
	require.Contains(t, e.Message, "sourceAmount, chain")

	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM payment_intents WHERE organization_id = $1", org).Scan(&n))
	require.Equal(t, 1, n, "a conflict writes nothing")
}

// Concurrent creates of one externalReference with different Idempotency-Keys
// make one intent: one 201, the rest 200 reused.
func TestConcurrentCreatesOfOneExternalReference(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	const n = 20
	codes := make([]int, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: stablecoinIntent,
				headers: map[string]string{"Idempotency-Key": fmt.Sprintf("k-%d", i)}})
			codes[i] = rec.Code
			ids[i] = decodeString(t, rec.Body.String(), "paymentIntentId")
		}()
	}
	wg.Wait()
	created := 0
	for i, c := range codes {
		require.Contains(t, []int{201, 200}, c)
		if c == 201 {
			created++
		}
		require.Equal(t, ids[0], ids[i])
	}
	require.Equal(t, 1, created)
	var cases int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM reconciliation_cases WHERE organization_id = $1", org).Scan(&cases))
	require.Equal(t, 1, cases)
}

func TestIntentIdempotentReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	h := map[string]string{"Idempotency-Key": uuid.NewString()}
	first := b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: stablecoinIntent, headers: h})
	again := b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: stablecoinIntent, headers: h})
	require.Equal(t, 201, again.Code, "the stored status is replayed too")
	require.Equal(t, "true", again.Header().Get("Idempotency-Replayed"))
	require.Equal(t, first.Body.String(), again.Body.String())
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE organization_id = $1", org).Scan(&n))
	require.Equal(t, 1, n, "a replay does not run the write again")
}

func TestIntentValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	body := `{"externalReference":"","sourceAmount":100.5,"sourceCurrency":"usd","destinationAmount":"1e5",
		"paymentType":"crypto","direction":"sideways","stablecoin":"USD","chain":"Ethereum Mainnet",
		"expectedFxRate":"0","developerFeeExpected":"-1","txHash":"0x123","clientCompletedAt":"yesterday",
		"references":[{"type":"invoice","value":""}],"metadata":{"k":1},"amount":"1"}`
	e := envelope(t, b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: body,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}}), 400, "invalid_request")
	got := map[string]string{}
	for _, is := range e.Issues {
		got[strings.Join(is.Path, ".")] = is.Message
	}
	for path, contains := range map[string]string{
		"amount":               "Unknown field",
		"sourceAmount":         "not a number",
		"destinationAmount":    "exponent",
		"clientCompletedAt":    "RFC 3339",
		"externalReference":    "Required",
		"sourceCurrency":       "upper case",
		"paymentType":          "stablecoin, bank, cross_border, other",
		"direction":            "debit or credit",
		"stablecoin":           "token symbol",
		"chain":                "lower-case",
		"expectedFxRate":       "greater than zero",
		"developerFeeExpected": "negative",
		"txHash":               "64 hex",
		"references.0.value":   "1 to 255",
	} {
		require.Contains(t, got, path, "issues: %v", got)
		require.Contains(t, got[path], contains, path)
	}

	// Amount precision limits of numeric(38,18).
	for amount, msg := range map[string]string{
		"1.1234567890123456789": "18 digits after",
		"123456789012345678901": "20 digits before",
		"NaN":                   "decimal string",
		"-5":                    "greater than zero",
	} {
		body := strings.Replace(stablecoinIntent, `"100.00"`, `"`+amount+`"`, 1)
		e := envelope(t, b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: body,
			headers: map[string]string{"Idempotency-Key": uuid.NewString()}}), 400, "invalid_request")
		require.Equal(t, []string{"sourceAmount"}, e.Issues[0].Path, amount)
		require.Contains(t, e.Issues[0].Message, msg, amount)
	}
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM payment_intents").Scan(&n))
	require.Zero(t, n, "bad input changes nothing")
}

func TestIntentScopes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	readOnly, _ := b.apiKey(org, "payment_intents:read")
	e := envelope(t, b.do(req{method: "POST", path: "/v1/payment-intents", token: readOnly, body: stablecoinIntent,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}}), 403, "forbidden")
	require.Contains(t, e.Message, "payment_intents:write")
	require.Equal(t, 200, b.do(req{method: "GET", path: "/v1/payment-intents", token: readOnly}).Code)
	e = envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-cases", token: readOnly}), 403, "forbidden")
	require.Contains(t, e.Message, "reconciliation_cases:read")
	e = envelope(t, b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases", token: readOnly}), 403, "forbidden")
	require.Contains(t, e.Message, "exports:read")
}

func TestIntentListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	a := b.intent(org, "ref-a")
	b.intent(org, "ref-b")
	c := b.intent(org, "ref-c")
	b.intent(b.org("Other"), "ref-a") // another organization's twin is never listed
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, "UPDATE payment_intents SET status = 'completed', created_at = now() - interval '3 days' WHERE id = $1", a.Intent.ID)
	require.NoError(t, err)

	list := func(q string) listResponse[map[string]any] {
		t.Helper()
		rec := b.do(req{method: "GET", path: "/v1/payment-intents" + q, token: key})
		require.Equal(t, 200, rec.Code, rec.Body.String())
		return decode[listResponse[map[string]any]](t, rec)
	}
	refs := func(l listResponse[map[string]any]) []string {
		var out []string
		for _, it := range l.Items {
			out = append(out, it["externalReference"].(string))
		}
		return out
	}
	require.Equal(t, []string{"ref-c", "ref-b", "ref-a"}, refs(list("")), "newest first")
	require.EqualValues(t, 3, list("").Total)
	require.Equal(t, []string{"ref-a"}, refs(list("?status=completed")))
	require.Equal(t, []string{"ref-c", "ref-b"}, refs(list("?status=pending")))
	require.Equal(t, []string{"ref-b"}, refs(list("?externalReference=ref-b")))
	twoDaysAgo := time.Now().AddDate(0, 0, -2).UTC().Format(time.RFC3339)
	require.Equal(t, []string{"ref-a"}, refs(list("?to="+twoDaysAgo)))
	require.Equal(t, []string{"ref-c", "ref-b"}, refs(list("?from="+twoDaysAgo)))
	require.Empty(t, refs(list("?externalReference=nope")))
	envelope(t, b.do(req{method: "GET", path: "/v1/payment-intents?status=done", token: key}), 400, "invalid_request")
	envelope(t, b.do(req{method: "GET", path: "/v1/payment-intents/" + uuid.NewString(), token: key}), 404, "not_found")
	require.Equal(t, 200, b.do(req{method: "GET", path: "/v1/payment-intents/" + c.Intent.ID.String(), token: key}).Code)
}

// U+0000 is valid JSON but Postgres cannot store it: a 400 naming the field,
// in bodies (free-form metadata too) and query strings, never a 500.
func TestNULCharactersAreRejected(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	body := strings.Replace(stablecoinIntent, `"order_1001"`, `"order\u0000"`, 1)
	body = strings.Replace(body, `"customer":"c_9"`, `"customer":"c\u0000","k\u0000":1`, 1)
	e := envelope(t, b.do(req{method: "POST", path: "/v1/payment-intents", token: key, body: body,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}}), 400, "invalid_request")
	paths := map[string]bool{}
	for _, is := range e.Issues {
		paths[strings.Join(is.Path, ".")] = true
		require.Contains(t, is.Message, "NUL")
	}
	require.True(t, paths["externalReference"], "%v", e.Issues)
	require.True(t, paths["metadata.customer"], "%v", e.Issues)
	require.True(t, paths["metadata.k\x00"], "%v", e.Issues)
	envelope(t, b.do(req{method: "GET", path: "/v1/payment-intents?externalReference=a%00b", token: key}), 400, "invalid_request")
	envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-cases?externalReference=%00", token: key}), 400, "invalid_request")
}

// Cases opened under the same rule share one stored snapshot of it; another
// rule (or another version of one) gets its own.
func TestRuleSnapshotsAreStoredOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	count := func() int {
		var n int
		require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM rule_snapshots WHERE organization_id = $1", org).Scan(&n))
		return n
	}
	first := b.intent(org, "a")
	second := b.intent(org, "b")
	b.intent(org, "c")
	require.Equal(t, 1, count())
	require.Equal(t, first.Case.RuleSnapshotID, second.Case.RuleSnapshotID)

	b.rule(org, "stablecoin strict", func(r *rule.Rule) { pt := "stablecoin"; r.PaymentType = &pt; r.Priority = 1 })
	third := b.intent(org, "d")
	require.Equal(t, 2, count())
	require.NotEqual(t, first.Case.RuleSnapshotID, third.Case.RuleSnapshotID)
	b.intent(b.org("Other"), "a")
	require.Equal(t, 2, count(), "snapshots belong to one organization")
}
