package api

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/rule"
)

// postRule creates a rule through the API.
func rulesPost(b *bundle, token, body string) *httptest.ResponseRecorder {
	b.t.Helper()
	return b.do(req{method: "POST", path: "/v1/reconciliation-rules", token: token, body: body,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
}

// mustPostRule creates a rule through the API and returns it.
func rulesMustPost(b *bundle, token, body string) ruleJSON {
	b.t.Helper()
	rec := rulesPost(b, token, body)
	require.Equal(b.t, 201, rec.Code, rec.Body.String())
	return decode[ruleJSON](b.t, rec)
}

// getCaseJSON reads a case through the API.
func rulesGetCase(b *bundle, token string, id uuid.UUID) resource.Case {
	b.t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/reconciliation-cases/" + id.String(), token: token})
	require.Equal(b.t, 200, rec.Code, rec.Body.String())
	return decode[resource.Case](b.t, rec)
}

// rulesIssuesByPath indexes an error's issues by their joined path; a path named
// twice fails the test.
func rulesIssuesByPath(t *testing.T, e Error) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, is := range e.Issues {
		key, _ := json.Marshal(is.Path)
		_, dup := out[string(key)]
		require.False(t, dup, "path %s reported twice: %+v", key, e.Issues)
		out[string(key)] = is.Message
	}
	return out
}

// ruleBody strips the generated fields of a rule response (checking they
// are there) and returns the rest as JSON, for an exact comparison.
func ruleBody(t *testing.T, rec *httptest.ResponseRecorder, org uuid.UUID) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m), rec.Body.String())
	_, err := uuid.Parse(m["id"].(string))
	require.NoError(t, err, "id is a UUID")
	require.Equal(t, org.String(), m["organizationId"])
	for _, k := range []string{"createdAt", "updatedAt"} {
		ts, err := time.Parse(time.RFC3339Nano, m[k].(string))
		require.NoError(t, err, k)
		require.WithinDuration(t, time.Now(), ts, time.Minute, k)
	}
	for _, k := range []string{"id", "organizationId", "createdAt", "updatedAt"} {
		delete(m, k)
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

func rulesStr(s string) *string { return &s }

func rulesBankIntent(in *intent.CreateInput) { in.PaymentType, in.DestinationCurrency = "bank", "USD" }

func TestRuleCreateFillsTheDefaultsOfItsPaymentType(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	rec := rulesPost(b, tok, `{"name":"bank strict","paymentType":"bank"}`)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	require.JSONEq(t, `{
		"name": "bank strict", "priority": 100, "paymentType": "bank", "sourceType": null, "isActive": true,
		"amountTolerance": "0", "amountToleranceBps": 0, "timeWindowMinutes": 1440,
		"allowExplicitIdMatch": true, "allowProviderIdMatch": true, "allowTxHashMatch": true,
		"allowReferenceExactMatch": true, "allowAmountAndTimeWindowMatch": true,
		"requiredLegTypes": ["provider_transfer", "bank_settlement"], "requireAllRequiredLegs": true,
		"expectedCompletionMinutes": 4320, "slaRiskThresholdPercent": 80, "delayedSettlementThresholdMinutes": 2880
	}`, ruleBody(t, rec, org))

	// What was answered is what is stored.
	created := decode[ruleJSON](t, rec)
	got := b.do(req{method: "GET", path: "/v1/reconciliation-rules/" + created.ID, token: tok})
	require.Equal(t, 200, got.Code, got.Body.String())
	require.JSONEq(t, rec.Body.String(), got.Body.String())

	// The defaults follow the payment type: stablecoin settles on chain within the hour.
	rec = rulesPost(b, tok, `{"name":"coins","paymentType":"stablecoin"}`)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	coins := decode[ruleJSON](t, rec)
	require.Equal(t, []string{"provider_transfer", "onchain_transfer"}, coins.RequiredLegTypes)
	require.EqualValues(t, 60, coins.ExpectedCompletionMinutes)
	require.EqualValues(t, 30, coins.DelayedSettlementThresholdMinutes)

	// Without a payment type the rule applies to every type with the "other"
	// timings; no legs named means each payment type's own legs (rule.Select).
	rec = rulesPost(b, tok, `{"name":"anything"}`)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	anything := decode[ruleJSON](t, rec)
	require.Nil(t, anything.PaymentType)
	require.Equal(t, []string{}, anything.RequiredLegTypes)
	require.EqualValues(t, 1440, anything.ExpectedCompletionMinutes)
	require.EqualValues(t, 720, anything.DelayedSettlementThresholdMinutes)
	require.EqualValues(t, 100, anything.Priority)
}

func TestRuleCreateEchoesEveryField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	want := `{
		"name": "full", "priority": 7, "paymentType": "cross_border", "sourceType": "file", "isActive": false,
		"amountTolerance": "0.05", "amountToleranceBps": 25, "timeWindowMinutes": 90,
		"allowExplicitIdMatch": false, "allowProviderIdMatch": false, "allowTxHashMatch": false,
		"allowReferenceExactMatch": false, "allowAmountAndTimeWindowMatch": false,
		"requiredLegTypes": ["file_record", "onchain_transfer", "bank_settlement"], "requireAllRequiredLegs": false,
		"expectedCompletionMinutes": 600, "slaRiskThresholdPercent": 55, "delayedSettlementThresholdMinutes": 300
	}`
	rec := rulesPost(b, tok, want)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	require.JSONEq(t, want, ruleBody(t, rec, org))
	created := decode[ruleJSON](t, rec)

	got := b.do(req{method: "GET", path: "/v1/reconciliation-rules/" + created.ID, token: tok})
	require.Equal(t, 200, got.Code, got.Body.String())
	require.JSONEq(t, want, ruleBody(t, got, org))

	// A retry with the same Idempotency-Key replays the rule instead of making another.
	key := uuid.NewString()
	first := b.do(req{method: "POST", path: "/v1/reconciliation-rules", token: tok, body: `{"name":"once"}`,
		headers: map[string]string{"Idempotency-Key": key}})
	require.Equal(t, 201, first.Code, first.Body.String())
	retry := b.do(req{method: "POST", path: "/v1/reconciliation-rules", token: tok, body: `{"name":"once"}`,
		headers: map[string]string{"Idempotency-Key": key}})
	require.Equal(t, 201, retry.Code, retry.Body.String())
	require.Equal(t, decode[ruleJSON](t, first).ID, decode[ruleJSON](t, retry).ID)
	list := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok}))
	require.EqualValues(t, 2, list.Total)
}

// A rule body's shape problems (types, unknown fields) are answered together.
func TestRuleCreateRejectsABadlyShapedBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	e := envelope(t, rulesPost(b, tok, `{"name":"x","amountTolerance":5,"colour":"red"}`), 400, "invalid_request")
	got := rulesIssuesByPath(t, e)
	require.Len(t, got, 2, e.Issues)
	require.Equal(t, `Must be a decimal string like "100.25", not a number.`, got[`["amountTolerance"]`])
	require.Equal(t, `Unknown field "colour".`, got[`["colour"]`])

	e = envelope(t, rulesPost(b, tok, `{"name":"x","priority":"1","isActive":"yes","requiredLegTypes":"bank_settlement"}`),
		400, "invalid_request")
	got = rulesIssuesByPath(t, e)
	require.Len(t, got, 3, e.Issues)
	require.Equal(t, "Must be an integer.", got[`["priority"]`])
	require.Equal(t, "Must be true or false.", got[`["isActive"]`])
	require.Equal(t, "Must be an array.", got[`["requiredLegTypes"]`])

	rulesAssertNone(t, b, tok)
}

// A rule that breaks several rules at once is answered with every issue,
// each at its path.
func TestRuleCreateNamesEveryInvalidField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	// (An absent name is not checked here: createRule starts from rule.Default,
	// whose name is "default", so a rule without one is stored as "default".)
	e := envelope(t, rulesPost(b, tok, `{"name": "",
		"requiredLegTypes": ["provider_transfer", "wire", "bank_settlement", "provider_transfer"],
		"amountToleranceBps": 10001, "slaRiskThresholdPercent": 0, "timeWindowMinutes": 0,
		"paymentType": "crypto", "sourceType": "fax", "amountTolerance": "-1"}`), 400, "invalid_request")
	require.Equal(t, "Request validation failed: 9 problems, see issues.", e.Message, e.Issues)
	got := rulesIssuesByPath(t, e)
	require.Len(t, got, 9, e.Issues)
	require.Equal(t, "Required; 1 to 200 characters.", got[`["name"]`])
	require.Equal(t, "Must be one of stablecoin, bank, cross_border, other, or null for every type.", got[`["paymentType"]`])
	require.Equal(t, "Must be one of provider, onchain, bank, file, or null for every source.", got[`["sourceType"]`])
	require.Equal(t, "Must not be negative.", got[`["amountTolerance"]`])
	require.Equal(t, "Must be from 0 to 10000 basis points.", got[`["amountToleranceBps"]`])
	require.Equal(t, "Must be from 1 to 525600 minutes (a year).", got[`["timeWindowMinutes"]`])
	require.Equal(t, "Must be from 1 to 100.", got[`["slaRiskThresholdPercent"]`])
	require.Equal(t, "Must be one of provider_transfer, onchain_transfer, bank_settlement, file_record.",
		got[`["requiredLegTypes","1"]`])
	require.Equal(t, `"provider_transfer" is listed twice.`, got[`["requiredLegTypes","3"]`])

	// The bounds themselves are fine; one past them is not.
	e = envelope(t, rulesPost(b, tok, `{"name":"   ","paymentType":"bank","priority":-1,"amountToleranceBps":-1,"slaRiskThresholdPercent":101,
		"expectedCompletionMinutes":525601,"delayedSettlementThresholdMinutes":0,"requiredLegTypes":[]}`), 400, "invalid_request")
	got = rulesIssuesByPath(t, e)
	require.Len(t, got, 7, e.Issues)
	for _, p := range []string{`["name"]`, `["priority"]`, `["amountToleranceBps"]`, `["slaRiskThresholdPercent"]`,
		`["expectedCompletionMinutes"]`, `["delayedSettlementThresholdMinutes"]`, `["requiredLegTypes"]`} {
		require.Contains(t, got, p)
	}
	rec := rulesPost(b, tok, `{"name":"edges","priority":0,"amountToleranceBps":10000,"slaRiskThresholdPercent":100,
		"expectedCompletionMinutes":525600,"delayedSettlementThresholdMinutes":1,"timeWindowMinutes":1,"amountTolerance":"0"}`)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	edges := decode[ruleJSON](t, rec)
	require.EqualValues(t, 0, edges.Priority)
	require.EqualValues(t, 10000, edges.AmountToleranceBps)

	// Nothing invalid was stored.
	list := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok}))
	require.EqualValues(t, 1, list.Total)
	require.Equal(t, "edges", list.Items[0].Name)
}

func rulesAssertNone(t *testing.T, b *bundle, tok string) {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	list := decode[listResponse[ruleJSON]](t, rec)
	require.Zero(t, list.Total)
	require.Empty(t, list.Items)
}

func TestRuleGetAndList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	b.rule(b.org("Other"), "never listed", func(r *rule.Rule) { r.PaymentType = rulesStr("bank") })

	var bank []string
	for _, name := range []string{"bank a", "bank b", "bank c"} {
		bank = append(bank, rulesMustPost(b, tok, `{"name":"`+name+`","paymentType":"bank"}`).ID)
	}
	coins := rulesMustPost(b, tok, `{"name":"coins","paymentType":"stablecoin"}`)

	rec := b.do(req{method: "GET", path: "/v1/reconciliation-rules/" + coins.ID, token: tok})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Equal(t, coins, decode[ruleJSON](t, rec))
	envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules/" + uuid.NewString(), token: tok}), 404, "not_found")
	envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules/not-a-uuid", token: tok}), 404, "not_found")

	all := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok}))
	require.EqualValues(t, 4, all.Total)
	require.Len(t, all.Items, 4)
	require.Equal(t, 25, all.Limit)
	require.Empty(t, all.NextCursor)
	require.Equal(t, []string{coins.ID, bank[2], bank[1], bank[0]},
		[]string{all.Items[0].ID, all.Items[1].ID, all.Items[2].ID, all.Items[3].ID}, "newest first")

	// limit=1 and the cursor walk every bank rule once, newest first.
	var walked []string
	cur := ""
	for range 10 {
		path := "/v1/reconciliation-rules?paymentType=bank&limit=1"
		if cur != "" {
			path += "&cursor=" + cur
		}
		rec := b.do(req{method: "GET", path: path, token: tok})
		require.Equal(t, 200, rec.Code, rec.Body.String())
		page := decode[listResponse[ruleJSON]](t, rec)
		require.EqualValues(t, 3, page.Total, "the total ignores the cursor")
		require.Equal(t, 1, page.Limit)
		require.LessOrEqual(t, len(page.Items), 1)
		for _, r := range page.Items {
			require.Equal(t, "bank", *r.PaymentType)
			walked = append(walked, r.ID)
		}
		if cur = page.NextCursor; cur == "" {
			break
		}
	}
	require.Empty(t, cur, "the walk ends")
	require.Equal(t, []string{bank[2], bank[1], bank[0]}, walked)

	// Offset paging with the filter.
	page := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules?paymentType=bank&limit=2&offset=2", token: tok}))
	require.EqualValues(t, 3, page.Total)
	require.Equal(t, 2, page.Offset)
	require.Len(t, page.Items, 1)
	require.Equal(t, bank[0], page.Items[0].ID)

	other := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules?paymentType=other", token: tok}))
	require.Zero(t, other.Total)
	require.Empty(t, other.Items)

	e := envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules?paymentTyp=bank", token: tok}), 400, "invalid_request")
	require.Len(t, e.Issues, 1)
	require.Equal(t, []string{"paymentTyp"}, e.Issues[0].Path)
	require.Contains(t, e.Issues[0].Message, `Unknown query parameter "paymentTyp"`)
	e = envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules?paymentType=crypto", token: tok}), 400, "invalid_request")
	require.Equal(t, []string{"paymentType"}, e.Issues[0].Path)
	e = envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules?limit=0", token: tok}), 400, "invalid_request")
	require.Equal(t, []string{"limit"}, e.Issues[0].Path)
}

func TestRulePatchChangesOnlyTheGivenFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	created := rulesMustPost(b, tok, `{"name":"bank strict","paymentType":"bank","priority":5,
		"amountTolerance":"0.05","requiredLegTypes":["bank_settlement","file_record"],"allowTxHashMatch":false}`)
	path := "/v1/reconciliation-rules/" + created.ID
	patch := func(body string) *httptest.ResponseRecorder {
		return b.do(req{method: "PATCH", path: path, token: tok, body: body})
	}

	rec := patch(`{"name":"renamed"}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	renamed := decode[ruleJSON](t, rec)
	want := created
	want.Name = "renamed"
	want.UpdatedAt = renamed.UpdatedAt
	require.Equal(t, want, renamed, "only the name changed")
	require.False(t, renamed.UpdatedAt.Before(created.UpdatedAt))
	require.Equal(t, created.CreatedAt, renamed.CreatedAt)

	// null clears the payment type: the rule then applies to every type.
	rec = patch(`{"paymentType":null,"amountToleranceBps":15}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	cleared := decode[ruleJSON](t, rec)
	require.Nil(t, cleared.PaymentType)
	require.Nil(t, cleared.SourceType)
	require.EqualValues(t, 15, cleared.AmountToleranceBps, "an absent field is kept, a null one cleared")
	require.Equal(t, "renamed", cleared.Name)
	require.Equal(t, "0.05", cleared.AmountTolerance.String())
	require.Equal(t, []string{"bank_settlement", "file_record"}, cleared.RequiredLegTypes)
	require.False(t, cleared.AllowTxHashMatch)
	require.True(t, cleared.AllowExplicitIDMatch)
	require.EqualValues(t, 5, cleared.Priority)
	stored := decode[ruleJSON](t, b.do(req{method: "GET", path: path, token: tok}))
	require.Equal(t, cleared, stored)

	// With no payment type, the rule is applied to an "other" intent too.
	other := b.intent(org, "other-1", func(in *intent.CreateInput) { in.PaymentType = "other" })
	require.NotNil(t, other.Case.RuleID)
	require.Equal(t, created.ID, other.Case.RuleID.String())

	// An invalid PATCH is refused whole: the stored rule is unchanged.
	for body, path := range map[string][]string{
		`{"paymentType":"bank","requiredLegTypes":[]}`: {"requiredLegTypes"},
		`{"name":"ok","slaRiskThresholdPercent":0}`:    {"slaRiskThresholdPercent"},
		`{"paymentType":"crypto","isActive":false}`:    {"paymentType"},
		`{"amountTolerance":"-0.01","priority":9}`:     {"amountTolerance"},
		`{"colour":"red","name":"painted"}`:            {"colour"},
		`{"requiredLegTypes":["bank_settlement",1]}`:   {"requiredLegTypes", "1"},
	} {
		e := envelope(t, patch(body), 400, "invalid_request")
		require.Len(t, e.Issues, 1, body)
		require.Equal(t, path, e.Issues[0].Path, body)
		require.Equal(t, stored, decode[ruleJSON](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules/" + created.ID, token: tok})), body)
	}

	envelope(t, b.do(req{method: "PATCH", path: "/v1/reconciliation-rules/" + uuid.NewString(), token: tok, body: `{"name":"x"}`}),
		404, "not_found")
}

func TestRuleDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	kept := rulesMustPost(b, tok, `{"name":"kept"}`)
	gone := rulesMustPost(b, tok, `{"name":"gone","paymentType":"bank"}`)
	path := "/v1/reconciliation-rules/" + gone.ID

	rec := b.do(req{method: "DELETE", path: path, token: tok})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	deleted := decode[ruleJSON](t, rec)
	require.Equal(t, gone.ID, deleted.ID)
	require.Equal(t, "gone", deleted.Name)
	require.False(t, deleted.IsActive, "a deleted rule is inactive")

	envelope(t, b.do(req{method: "GET", path: path, token: tok}), 404, "not_found")
	envelope(t, b.do(req{method: "DELETE", path: path, token: tok}), 404, "not_found")
	envelope(t, b.do(req{method: "PATCH", path: path, token: tok, body: `{"name":"back"}`}), 404, "not_found")

	list := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok}))
	require.EqualValues(t, 1, list.Total)
	require.Len(t, list.Items, 1)
	require.Equal(t, kept.ID, list.Items[0].ID)
	bankOnly := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules?paymentType=bank", token: tok}))
	require.Zero(t, bankOnly.Total)
}

// New cases are opened under the organization's matching rule, or the
// built-in default of their payment type when none matches.
func TestRuleIsAppliedToNewCases(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	reader, _ := b.apiKey(org, "reconciliation_cases:read")
	r := rulesMustPost(b, tok, `{"name":"bank only","paymentType":"bank","requiredLegTypes":["bank_settlement"],"priority":1}`)

	bank := b.intent(org, "bank-1", rulesBankIntent)
	c := rulesGetCase(b, reader, bank.Case.ID)
	require.NotNil(t, c.RuleID)
	require.Equal(t, r.ID, *c.RuleID)
	require.EqualValues(t, 1, c.RequiredLegsTotal)
	require.EqualValues(t, 0, c.RequiredLegsPresent)
	require.Equal(t, "present", c.EvidenceCoverage.Expected)
	require.Equal(t, "missing", c.EvidenceCoverage.Bank)
	require.Equal(t, "not_required", c.EvidenceCoverage.Provider)
	require.Equal(t, "not_required", c.EvidenceCoverage.Chain)
	require.Equal(t, "not_required", c.EvidenceCoverage.File)
	require.Equal(t, []string{"bank_settlement"}, rulesRequiredLegs(t, b, bank.Case.ID))

	// A stablecoin intent in the same organization: no rule matches, the built-in default applies.
	coin := b.intent(org, "coin-1")
	c = rulesGetCase(b, tok, coin.Case.ID)
	require.Nil(t, c.RuleID)
	require.EqualValues(t, 2, c.RequiredLegsTotal)
	require.Equal(t, "missing", c.EvidenceCoverage.Provider)
	require.Equal(t, "missing", c.EvidenceCoverage.Chain)
	require.Equal(t, "not_required", c.EvidenceCoverage.Bank)
	require.Equal(t, []string{"onchain_transfer", "provider_transfer"}, rulesRequiredLegs(t, b, coin.Case.ID))

	// Another organization's rule is never applied.
	other := b.org("Other")
	otherBank := b.intent(other, "bank-1", rulesBankIntent)
	require.Nil(t, otherBank.Case.RuleID)
	require.EqualValues(t, 2, otherBank.Case.RequiredLegsTotal)
}

// rulesRequiredLegs lists a case's required legs, sorted.
func rulesRequiredLegs(t *testing.T, b *bundle, caseID uuid.UUID) []string {
	t.Helper()
	var legs []string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT coalesce(array_agg(leg_type ORDER BY leg_type), '{}') FROM required_legs WHERE case_id = $1`, caseID).Scan(&legs))
	return legs
}

func TestInactiveAndDeletedRulesAreNotApplied(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	inactive := rulesMustPost(b, tok, `{"name":"off","paymentType":"bank","requiredLegTypes":["file_record"],"priority":1,"isActive":false}`)
	require.False(t, inactive.IsActive)
	deleted := rulesMustPost(b, tok, `{"name":"gone","paymentType":"bank","requiredLegTypes":["bank_settlement"],"priority":2}`)
	rec := b.do(req{method: "DELETE", path: "/v1/reconciliation-rules/" + deleted.ID, token: tok})
	require.Equal(t, 200, rec.Code, rec.Body.String())

	c := rulesGetCase(b, tok, b.intent(org, "bank-1", rulesBankIntent).Case.ID)
	require.Nil(t, c.RuleID, "the built-in default applies")
	require.EqualValues(t, 2, c.RequiredLegsTotal)
	require.Equal(t, "missing", c.EvidenceCoverage.Provider)
	require.Equal(t, "missing", c.EvidenceCoverage.Bank)
	require.Equal(t, "not_required", c.EvidenceCoverage.File)

	// Switching the inactive rule on makes it apply to the next case.
	rec = b.do(req{method: "PATCH", path: "/v1/reconciliation-rules/" + inactive.ID, token: tok, body: `{"isActive":true}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	c = rulesGetCase(b, tok, b.intent(org, "bank-2", rulesBankIntent).Case.ID)
	require.NotNil(t, c.RuleID)
	require.Equal(t, inactive.ID, *c.RuleID)
	require.EqualValues(t, 1, c.RequiredLegsTotal)
	require.Equal(t, "missing", c.EvidenceCoverage.File)
}

// Of the rules that match, the lowest priority number wins, whatever the
// order they were created in.
func TestRulePriorityLowerNumberWins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	rulesMustPost(b, tok, `{"name":"late","paymentType":"bank","requiredLegTypes":["file_record"],"priority":50}`)
	rulesMustPost(b, tok, `{"name":"any type, later","requiredLegTypes":["provider_transfer"],"priority":30}`)
	winner := rulesMustPost(b, tok, `{"name":"early","paymentType":"bank","requiredLegTypes":["bank_settlement"],"priority":10}`)
	rulesMustPost(b, tok, `{"name":"coins first","paymentType":"stablecoin","requiredLegTypes":["onchain_transfer"],"priority":1}`)
	rulesMustPost(b, tok, `{"name":"other source","paymentType":"bank","sourceType":"file","requiredLegTypes":["file_record"],"priority":0}`)

	c := rulesGetCase(b, tok, b.intent(org, "bank-1", rulesBankIntent).Case.ID)
	require.NotNil(t, c.RuleID)
	require.Equal(t, winner.ID, *c.RuleID)
	require.Equal(t, "missing", c.EvidenceCoverage.Bank)
	require.Equal(t, "not_required", c.EvidenceCoverage.File)

	// Raising the winner's number hands the next case to the any-type rule.
	rec := b.do(req{method: "PATCH", path: "/v1/reconciliation-rules/" + winner.ID, token: tok, body: `{"priority":40}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	c = rulesGetCase(b, tok, b.intent(org, "bank-2", rulesBankIntent).Case.ID)
	require.NotNil(t, c.RuleID)
	require.NotEqual(t, winner.ID, *c.RuleID)
	require.EqualValues(t, 1, c.RequiredLegsTotal)
	require.Equal(t, "missing", c.EvidenceCoverage.Provider)
	require.Equal(t, "not_required", c.EvidenceCoverage.Bank)

	// On equal numbers the earlier rule wins.
	rec = b.do(req{method: "PATCH", path: "/v1/reconciliation-rules/" + winner.ID, token: tok, body: `{"priority":30}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	again := rulesGetCase(b, tok, b.intent(org, "bank-3", rulesBankIntent).Case.ID)
	require.Equal(t, *c.RuleID, *again.RuleID)
}

// A case keeps the rule it was opened under: editing the rule changes new
// cases only, and a rerun evaluates the snapshot.
func TestCaseKeepsItsRuleSnapshot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	r := rulesMustPost(b, tok, `{"name":"bank only","paymentType":"bank","requiredLegTypes":["bank_settlement"],"priority":1}`)
	old := b.intent(org, "bank-1", rulesBankIntent)
	require.EqualValues(t, 1, rulesGetCase(b, tok, old.Case.ID).RequiredLegsTotal)

	rec := b.do(req{method: "PATCH", path: "/v1/reconciliation-rules/" + r.ID, token: tok,
		body: `{"requiredLegTypes":["provider_transfer","bank_settlement","file_record"]}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())

	c := rulesGetCase(b, tok, old.Case.ID)
	require.EqualValues(t, 1, c.RequiredLegsTotal)
	require.Equal(t, "not_required", c.EvidenceCoverage.Provider)
	require.Equal(t, r.ID, *c.RuleID)

	rec = b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + old.Case.ID.String() + "/rerun", token: tok,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	rerun := decode[resource.Case](t, rec)
	require.EqualValues(t, 1, rerun.RequiredLegsTotal)
	require.Equal(t, "missing", rerun.EvidenceCoverage.Bank)
	require.Equal(t, "not_required", rerun.EvidenceCoverage.Provider)
	require.Equal(t, "not_required", rerun.EvidenceCoverage.File)
	require.EqualValues(t, 1, rulesGetCase(b, tok, old.Case.ID).RequiredLegsTotal)

	// Deleting the rule does not touch the case either.
	rec = b.do(req{method: "DELETE", path: "/v1/reconciliation-rules/" + r.ID, token: tok})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	c = rulesGetCase(b, tok, old.Case.ID)
	require.EqualValues(t, 1, c.RequiredLegsTotal)
	require.Equal(t, r.ID, *c.RuleID)

	// A case opened after the edit (before the delete) got the new legs.
	b2 := b.org("Beta")
	tok2 := b.session("user_2", b2)
	r2 := rulesMustPost(b, tok2, `{"name":"bank only","paymentType":"bank","requiredLegTypes":["bank_settlement"],"priority":1}`)
	rec = b.do(req{method: "PATCH", path: "/v1/reconciliation-rules/" + r2.ID, token: tok2,
		body: `{"requiredLegTypes":["provider_transfer","bank_settlement","file_record"]}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	fresh := rulesGetCase(b, tok2, b.intent(b2, "bank-1", rulesBankIntent).Case.ID)
	require.EqualValues(t, 3, fresh.RequiredLegsTotal)
	require.Equal(t, "missing", fresh.EvidenceCoverage.File)
}

func TestRuleRoutesNeedTheCaseScopes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	existing := rulesMustPost(b, tok, `{"name":"existing"}`)
	path := "/v1/reconciliation-rules/" + existing.ID

	reader, _ := b.apiKey(org, "reconciliation_cases:read")
	rec := b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: reader})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.EqualValues(t, 1, decode[listResponse[ruleJSON]](t, rec).Total)
	rec = b.do(req{method: "GET", path: path, token: reader})
	require.Equal(t, 200, rec.Code, rec.Body.String())

	for _, r := range []req{
		{method: "POST", path: "/v1/reconciliation-rules", body: `{"name":"nope"}`, headers: map[string]string{"Idempotency-Key": uuid.NewString()}},
		{method: "PATCH", path: path, body: `{"name":"nope"}`},
		{method: "DELETE", path: path},
	} {
		r.token = reader
		e := envelope(t, b.do(r), 403, "forbidden")
		require.Contains(t, e.Message, "reconciliation_cases:write", r.method)
		require.Equal(t, "reconciliation_cases:write", e.Details.(map[string]any)["requiredScope"], r.method)
	}
	// Nothing changed.
	require.Equal(t, existing, decode[ruleJSON](t, b.do(req{method: "GET", path: path, token: tok})))
	list := decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok}))
	require.EqualValues(t, 1, list.Total)

	intentsOnly, _ := b.apiKey(org, "payment_intents:read", "payment_intents:write")
	e := envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: intentsOnly}), 403, "forbidden")
	require.Equal(t, "reconciliation_cases:read", e.Details.(map[string]any)["requiredScope"])

	writer, _ := b.apiKey(org, "reconciliation_cases:write")
	rec = rulesPost(b, writer, `{"name":"by key"}`)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	envelope(t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: writer}), 403, "forbidden")

	// POST needs an Idempotency-Key.
	envelope(t, b.do(req{method: "POST", path: "/v1/reconciliation-rules", token: tok, body: `{"name":"no key"}`}),
		400, "invalid_idempotency_key")
	list = decode[listResponse[ruleJSON]](t, b.do(req{method: "GET", path: "/v1/reconciliation-rules", token: tok}))
	require.EqualValues(t, 2, list.Total)
}
