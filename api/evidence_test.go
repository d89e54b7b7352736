package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/rule"
)

// Helpers of this file are prefixed with ev so they do not collide with
// helpers other test files of the package may add.

// evLongWait lets a waiting evidence POST wait long enough for the worker
// under -race in a parallel package run; the default bound (2 s) is what
// the quickstart test exercises.
func evLongWait(o *Options) { o.EvidenceWait = 15 * time.Second }

// evPost POSTs evidence with a fresh Idempotency-Key; hdr are extra header
// name/value pairs (an empty value removes the header).
func evPost(b *bundle, token, source, body string, hdr ...string) *httptest.ResponseRecorder {
	h := map[string]string{"Idempotency-Key": uuid.NewString()}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	return b.do(req{method: "POST", path: "/v1/evidence/" + source, token: token, body: body, headers: h})
}

func evReceipt(t *testing.T, rec *httptest.ResponseRecorder, status int) receiptJSON {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	return decode[receiptJSON](t, rec)
}

// evIntent creates a payment intent over HTTP.
func evIntent(t *testing.T, b *bundle, token, body string) createIntentResponse {
	t.Helper()
	rec := b.do(req{method: "POST", path: "/v1/payment-intents", token: token, body: body,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[createIntentResponse](t, rec)
}

func evCase(t *testing.T, b *bundle, token, caseID string) resource.Case {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/reconciliation-cases/" + caseID, token: token})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[resource.Case](t, rec)
}

// evPollCase reads a case until done says so or timeout passes, and returns
// the last read: the caller asserts on it, so a failure shows what was seen.
func evPollCase(t *testing.T, b *bundle, token, caseID string, timeout time.Duration, done func(resource.Case) bool) resource.Case {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := evCase(t, b, token, caseID)
		if done(c) || time.Now().After(deadline) {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func evGet(t *testing.T, b *bundle, token, id string) evidenceDetailJSON {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/evidence/" + id, token: token})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[evidenceDetailJSON](t, rec)
}

func evCount(t *testing.T, b *bundle, query string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, b.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// evS shows an optional string in assertions ("<nil>" for none).
func evS(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func evTypes(c resource.Case) []string {
	out := make([]string, len(c.AuditEvents))
	for i, e := range c.AuditEvents {
		out[i] = e.EventType
	}
	return out
}

// evMoney is the figures of a case, for one comparison naming all of them.
type evMoney struct {
	Expected, Actual, ProviderFee, NetworkFee, DeveloperFee, FxSpread, Rounding, Unexplained string
}

func evMoneyOf(c resource.Case) evMoney {
	return evMoney{c.ExpectedAmount, evS(c.ActualAmount), evS(c.ProviderFee), evS(c.NetworkFee), evS(c.DeveloperFee),
		evS(c.FxSpread), evS(c.RoundingDelta), evS(c.UnexplainedDelta)}
}

// evJudgement is what evaluation decided about a case.
type evJudgement struct {
	Status, ReconciliationStatus, Verdict, ExceptionType string
}

func evJudgementOf(c resource.Case) evJudgement {
	return evJudgement{c.Status, c.ReconciliationStatus, evS(c.Verdict), evS(c.ExceptionType)}
}

const evTxHash = "0x8f1c2b7a9d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdde"

// The quickstart, end to end over HTTP with a real worker: an intent, then
// provider evidence naming it; the default wait answers 201 with the
// matcher's outcome and the case resolved itself.
func TestEvidenceQuickstartOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, apiKey := b.apiKey(org)

	created := evIntent(t, b, key, `{"externalReference":"order_qs","sourceAmount":"100.00","sourceCurrency":"USD","paymentType":"other"}`)
	require.Equal(t, "created", created.Outcome)

	rec := evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_qs","status":"completed",
		"amount":{"amount":"100.00","currency":"USD"},"externalReference":"order_qs"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "false", rec.Header().Get("Idempotency-Replayed"))
	require.Empty(t, rec.Header().Get("Location"), "a 201 has nothing to poll")
	raw := decode[map[string]any](t, rec)
	requireKeys(t, raw, []string{"accepted", "duplicate", "rawRecordId", "source", "sourceRef", "flowLegIds",
		"matchedCaseIds", "signatureValid", "status"})
	r := decode[receiptJSON](t, rec)
	require.True(t, r.Accepted)
	require.False(t, r.Duplicate)
	require.Equal(t, "matched", r.Status)
	require.Equal(t, "provider", r.Source)
	require.Equal(t, "acme_pay:tr_qs:completed", r.SourceRef, "derived from provider, transfer id and status")
	require.Nil(t, r.SignatureValid)
	_, err := uuid.Parse(r.RawRecordID)
	require.NoError(t, err, r.RawRecordID)
	require.Len(t, r.FlowLegIDs, 1)
	require.Equal(t, []string{created.CaseID}, r.MatchedCaseIDs)
	require.Equal(t, "/v1/evidence/"+r.RawRecordID, r.StatusURL)

	c := evCase(t, b, key, created.CaseID)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c))
	require.Equal(t, evMoney{"100", "100", "0", "0", "0", "0", "0", "0"}, evMoneyOf(c))
	require.NotNil(t, c.ReconciledAt)
	require.NotNil(t, c.ResolvedAt)
	require.EqualValues(t, 1, c.RequiredLegsTotal)
	require.EqualValues(t, 1, c.RequiredLegsPresent)
	require.Equal(t, "present", c.EvidenceCoverage.Provider)
	require.Equal(t, "not_required", c.EvidenceCoverage.Chain)
	require.Len(t, c.FlowLegs, 1)
	leg := c.FlowLegs[0]
	require.Equal(t, r.FlowLegIDs[0], leg.ID)
	require.Equal(t, "provider_transfer", leg.Type)
	require.Equal(t, "settled", leg.Status)
	require.Equal(t, "completed", leg.SourceStatus)
	require.Equal(t, "100", leg.Amount)
	require.Equal(t, "USD", leg.Currency)
	require.Equal(t, "acme_pay", evS(leg.Provider))
	require.Equal(t, "tr_qs", evS(leg.ProviderTransferID))
	require.Equal(t, r.RawRecordID, leg.RawRecordID)
	require.Equal(t, created.CaseID, evS(leg.CaseID))

	require.Equal(t, []string{"payment_intent.created", "evidence.received", "leg.normalized", "match_link.created",
		"case.evaluated", "case.resolved"}, evTypes(c))
	for _, e := range c.AuditEvents[1:] {
		require.Equal(t, created.CaseID, evS(e.CaseID), e.EventType)
	}
	require.Equal(t, r.RawRecordID, evS(c.AuditEvents[1].RawRecordID), "evidence.received names the raw record")
	var link map[string]any
	require.NoError(t, json.Unmarshal(c.AuditEvents[3].Payload, &link))
	require.Equal(t, "explicit_id", link["strategy"])
	require.Equal(t, leg.ID, link["flowLegId"])
	require.Equal(t, "system:matcher", c.AuditEvents[3].Actor)
	require.Equal(t, "system:matcher", c.AuditEvents[4].Actor, "the worker evaluated, not the key")
	require.Equal(t, "api_key:"+apiKey.ID.String(), c.AuditEvents[0].Actor)
}

// Business uniqueness of evidence (source, sourceRef) is not idempotency:
// a new key answers the original as a duplicate; the same key replays.
func TestEvidenceDuplicateAndIdempotencyReplay(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	created := evIntent(t, b, key, `{"externalReference":"order_dup","sourceAmount":"40.00","sourceCurrency":"USD","paymentType":"other"}`)
	body := `{"provider":"acme_pay","providerTransferId":"tr_dup","status":"completed",
		"amount":{"amount":"40.00","currency":"USD"},"externalReference":"order_dup"}`

	k1 := uuid.NewString()
	first := evPost(b, key, "provider", body, "Idempotency-Key", k1)
	r1 := evReceipt(t, first, http.StatusCreated)
	require.Equal(t, "matched", r1.Status)
	require.Equal(t, []string{created.CaseID}, r1.MatchedCaseIDs)
	legs := evCount(t, b, "SELECT count(*) FROM flow_legs")
	require.EqualValues(t, 1, legs)

	// Same evidence, new key: 200, the original's ids.
	again := evPost(b, key, "provider", body)
	r2 := evReceipt(t, again, http.StatusOK)
	require.Equal(t, "false", again.Header().Get("Idempotency-Replayed"))
	require.True(t, r2.Accepted)
	require.True(t, r2.Duplicate)
	require.Equal(t, r1.RawRecordID, r2.RawRecordID)
	require.Equal(t, r1.FlowLegIDs, r2.FlowLegIDs)
	require.Equal(t, r1.MatchedCaseIDs, r2.MatchedCaseIDs)
	require.Equal(t, "matched", r2.Status)
	require.Equal(t, r1.SourceRef, r2.SourceRef)
	require.Equal(t, r1.ReceivedAt, r2.ReceivedAt, "the original's receipt time")

	// Other formatting of the same evidence is the same evidence too.
	reformatted := strings.NewReplacer(`"40.00"`, `"40"`, "\n\t\t", " ").Replace(body)
	r3 := evReceipt(t, evPost(b, key, "provider", reformatted), http.StatusOK)
	require.True(t, r3.Duplicate)
	require.Equal(t, r1.RawRecordID, r3.RawRecordID)

	// Same key, same body: the first response, verbatim.
	replay := evPost(b, key, "provider", body, "Idempotency-Key", k1)
	require.Equal(t, http.StatusCreated, replay.Code, replay.Body.String())
	require.Equal(t, "true", replay.Header().Get("Idempotency-Replayed"))
	require.Equal(t, first.Body.String(), replay.Body.String())

	// Same key, other body: refused.
	envelope(t, evPost(b, key, "provider", strings.Replace(body, "tr_dup", "tr_dup_2", 1), "Idempotency-Key", k1),
		http.StatusConflict, "idempotency_key_conflict")

	require.Equal(t, legs, evCount(t, b, "SELECT count(*) FROM flow_legs"), "nothing normalized twice")
	require.EqualValues(t, 1, evCount(t, b, "SELECT count(*) FROM raw_records"))
	c := evCase(t, b, key, created.CaseID)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c))
	require.Len(t, c.FlowLegs, 1)
}

// Provider evidence short of the intent: the difference is unexplained.
func TestEvidenceAmountMismatch(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	created := evIntent(t, b, key, `{"externalReference":"order_short","sourceAmount":"100.00","sourceCurrency":"USD","paymentType":"other"}`)

	r := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_short","status":"completed",
		"amount":{"amount":"90.00","currency":"USD"},"externalReference":"order_short"}`), http.StatusCreated)
	require.Equal(t, "matched", r.Status, "the evidence found its case; the case is what is off")
	require.Equal(t, []string{created.CaseID}, r.MatchedCaseIDs)

	c := evCase(t, b, key, created.CaseID)
	require.Equal(t, evJudgement{"open", "unreconciled", "needs_review", "amount_mismatch"}, evJudgementOf(c))
	require.Equal(t, evMoney{"100", "90", "0", "0", "0", "0", "0", "10"}, evMoneyOf(c))
	require.Nil(t, c.ReconciledAt)
	require.Nil(t, c.ResolvedAt)
	require.Len(t, c.FlowLegs, 1)
	require.Equal(t, "case.evaluated", c.AuditEvents[len(c.AuditEvents)-1].EventType)
	require.Contains(t, c.AuditEvents[len(c.AuditEvents)-1].Message, "unexplained delta 10")
}

// A stablecoin payout: the provider reports the conversion and its fees,
// the chain the transfer (found by its hash). Every cent of the 4 USDC gap
// is explained; whether that is an exception depends on the rule.
func TestEvidenceStablecoinPayoutDecomposition(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	intentBody := `{"externalReference":"po_1","sourceAmount":"1000","sourceCurrency":"USD","destinationAmount":"920",
		"destinationCurrency":"USDC","paymentType":"stablecoin","stablecoin":"USDC","chain":"ethereum",
		"expectedFxRate":"0.92","txHash":"` + evTxHash + `"}`
	providerBody := `{"provider":"acme_pay","providerTransferId":"tr_po_1","status":"completed",
		"amount":{"amount":"1000","currency":"USD"},"destinationAmount":{"amount":"916.00","currency":"USDC"},"fxRate":"0.918",
		"fees":{"providerFee":"1.00","networkFee":"0.50","developerFee":"0.50"},"externalReference":"po_1"}`
	onchainBody := `{"chainFamily":"evm","chainId":1,"txHash":"` + evTxHash + `","status":"confirmed",
		"amount":{"amount":"916.00","currency":"USDC"},"toAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}`

	// run creates the intent and sends both pieces of evidence in org; it
	// returns the case and the two receipts.
	run := func(key string) (resource.Case, receiptJSON, receiptJSON) {
		t.Helper()
		created := evIntent(t, b, key, intentBody)
		p := evReceipt(t, evPost(b, key, "provider", providerBody), http.StatusCreated)
		require.Equal(t, "matched", p.Status)
		require.Equal(t, []string{created.CaseID}, p.MatchedCaseIDs)

		c := evCase(t, b, key, created.CaseID)
		require.Equal(t, evJudgement{"open", "unreconciled", "unreconciled", "missing_leg"}, evJudgementOf(c),
			"the chain leg is still missing")
		require.Equal(t, "missing", c.EvidenceCoverage.Chain)
		require.Equal(t, "present", c.EvidenceCoverage.Provider)
		require.EqualValues(t, 1, c.RequiredLegsPresent)
		require.EqualValues(t, 2, c.RequiredLegsTotal)

		o := evReceipt(t, evPost(b, key, "onchain", onchainBody), http.StatusCreated)
		require.Equal(t, "matched", o.Status)
		require.Equal(t, []string{created.CaseID}, o.MatchedCaseIDs)
		require.Equal(t, "evm:1:"+evTxHash+":confirmed", o.SourceRef)
		return evCase(t, b, key, created.CaseID), p, o
	}

	// Default stablecoin rule: no tolerance, so the fees are an exception.
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	c, p, o := run(key)
	require.Equal(t, evMoney{Expected: "920", Actual: "916", ProviderFee: "1", NetworkFee: "0.5", DeveloperFee: "0.5",
		FxSpread: "2", Rounding: "0", Unexplained: "0"}, evMoneyOf(c))
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched_with_exception", "fee_out_of_tolerance"}, evJudgementOf(c))
	require.Equal(t, "USDC", c.ExpectedCurrency)
	require.Nil(t, c.RuleID, "the built-in default")
	require.EqualValues(t, 2, c.RequiredLegsPresent)
	require.Equal(t, "present", c.EvidenceCoverage.Chain)
	require.Len(t, c.FlowLegs, 2)

	rec := b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?format=json&externalReference=po_1", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	export := decode[struct {
		Total int64        `json:"total"`
		Items []exportItem `json:"items"`
	}](t, rec)
	require.EqualValues(t, 1, export.Total)
	require.Len(t, export.Items, 1)
	ev := export.Items[0].Evidence
	require.Equal(t, c.ID, ev.CaseID)
	require.Len(t, ev.RawRecords, 2)
	require.ElementsMatch(t, []string{p.RawRecordID, o.RawRecordID}, []string{ev.RawRecords[0].ID, ev.RawRecords[1].ID})
	for _, raw := range ev.RawRecords {
		require.Equal(t, "matched", raw.MatchStatus, raw.Source)
	}
	require.Len(t, ev.FlowLegs, 2)
	require.Len(t, ev.MatchLinks, 2)
	strategies := map[string]resource.MatchLink{}
	for _, l := range ev.MatchLinks {
		strategies[l.FlowLegID] = l
	}
	chainLink, providerLink := strategies[o.FlowLegIDs[0]], strategies[p.FlowLegIDs[0]]
	require.Equal(t, "tx_hash", chainLink.Strategy)
	require.Equal(t, "active", chainLink.Status)
	require.Equal(t, "0.98", chainLink.Score)
	require.Equal(t, o.RawRecordID, chainLink.RawRecordID)
	require.Equal(t, "explicit_id", providerLink.Strategy)
	require.Equal(t, "1", providerLink.Score)

	// An organization whose stablecoin rule allows 5 USDC: the same payout matches.
	org2 := b.org("Beta")
	key2, _ := b.apiKey(org2)
	tolerant := b.rule(org2, "stablecoin within 5", func(r *rule.Rule) {
		pt := rule.PaymentStablecoin
		r.PaymentType = &pt
		r.AmountTolerance = decimal.NewFromInt(5)
		r.RequiredLegTypes = []string{rule.LegProvider, rule.LegOnchain}
	})
	c2, _, _ := run(key2)
	require.Equal(t, tolerant.ID.String(), evS(c2.RuleID))
	require.Equal(t, evMoneyOf(c), evMoneyOf(c2), "the same figures")
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c2))

	// The chain leg first, then the provider's: the same judgement (a case
	// depends on its legs, not on their order).
	org3 := b.org("Gamma")
	key3, _ := b.apiKey(org3)
	created := evIntent(t, b, key3, intentBody)
	o3 := evReceipt(t, evPost(b, key3, "onchain", onchainBody), http.StatusCreated)
	require.Equal(t, []string{created.CaseID}, o3.MatchedCaseIDs)
	c3 := evCase(t, b, key3, created.CaseID)
	require.Equal(t, evJudgement{"open", "unreconciled", "unreconciled", "missing_leg"}, evJudgementOf(c3))
	evReceipt(t, evPost(b, key3, "provider", providerBody), http.StatusCreated)
	c3 = evCase(t, b, key3, created.CaseID)
	require.Equal(t, evMoneyOf(c), evMoneyOf(c3))
	require.Equal(t, evJudgementOf(c), evJudgementOf(c3))
}

// A chain transfer seen pending, then confirmed: tentatively reconciled,
// then reconciled; the pending report is superseded, not a duplicate.
func TestEvidencePendingThenSettled(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	res := b.intent(org, "po_pending", func(in *intent.CreateInput) {
		h := evTxHash
		in.TxHash = &h
	})
	caseID := res.Case.ID.String()

	p := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_pending","status":"completed",
		"amount":{"amount":"100","currency":"USD"},"destinationAmount":{"amount":"100","currency":"USDC"},
		"externalReference":"po_pending"}`), http.StatusCreated)
	require.Equal(t, []string{caseID}, p.MatchedCaseIDs)

	onchain := func(status string) string {
		return `{"chainFamily":"evm","chainId":"1","txHash":"` + evTxHash + `","status":"` + status + `",
			"amount":{"amount":"100.00","currency":"USDC"}}`
	}
	pending := evReceipt(t, evPost(b, key, "onchain", onchain("pending")), http.StatusCreated)
	require.Equal(t, "matched", pending.Status)
	require.Equal(t, []string{caseID}, pending.MatchedCaseIDs)
	c := evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"open", "tentatively_reconciled", "matched", "<nil>"}, evJudgementOf(c))
	require.Equal(t, "pending", c.EvidenceCoverage.Chain)
	require.EqualValues(t, 1, c.RequiredLegsPresent, "a pending leg is not present yet")
	require.Nil(t, c.ReconciledAt)
	require.Equal(t, "100", evS(c.ActualAmount))

	confirmed := evReceipt(t, evPost(b, key, "onchain", onchain("confirmed")), http.StatusCreated)
	require.False(t, confirmed.Duplicate, "another status is another report")
	require.NotEqual(t, pending.RawRecordID, confirmed.RawRecordID)
	require.Equal(t, "evm:1:"+evTxHash+":confirmed", confirmed.SourceRef)
	require.Equal(t, []string{caseID}, confirmed.MatchedCaseIDs)
	c = evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c),
		"the confirmed report supersedes the pending one: no duplicate_evidence")
	require.Equal(t, evMoney{"100", "100", "0", "0", "0", "0", "0", "0"}, evMoneyOf(c))
	require.Equal(t, "present", c.EvidenceCoverage.Chain)
	require.EqualValues(t, 2, c.RequiredLegsPresent)
	require.NotNil(t, c.ReconciledAt)
	require.Len(t, c.FlowLegs, 3, "every report stays on the case")
}

// Prefer: respond-async (and wait=0) answers 202 at once with where to poll.
func TestEvidenceRespondAsync(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	c1 := b.intent(org, "async_1", func(in *intent.CreateInput) { in.PaymentType, in.DestinationCurrency = "other", "USD" })
	c2 := b.intent(org, "async_2", func(in *intent.CreateInput) { in.PaymentType, in.DestinationCurrency = "other", "USD" })

	for _, tc := range []struct {
		prefer, applied, ref string
		caseID               uuid.UUID
	}{
		{"respond-async", "respond-async", "async_1", c1.Case.ID},
		{"wait=0", "wait=0", "async_2", c2.Case.ID},
	} {
		body := `{"provider":"acme_pay","providerTransferId":"tr_` + tc.ref + `","status":"completed",
			"amount":{"amount":"100.00","currency":"USD"},"externalReference":"` + tc.ref + `",
			"occurredAt":"` + time.Now().UTC().Format(time.RFC3339) + `",
			"references":[{"type":"invoice","value":"INV-` + tc.ref + `"}],
			"payload":{"webhookId":"wh_1","data":{"object":{"amount":10000,"tags":["a","b"],"ok":true,"none":null}}}}`
		start := time.Now()
		rec := evPost(b, key, "provider", body, "Prefer", tc.prefer)
		require.Less(t, time.Since(start), time.Second, "%s answers at once", tc.prefer)
		r := evReceipt(t, rec, http.StatusAccepted)
		require.Equal(t, tc.applied, rec.Header().Get("Preference-Applied"), tc.prefer)
		require.Equal(t, "/v1/evidence/"+r.RawRecordID, rec.Header().Get("Location"), tc.prefer)
		require.Equal(t, "false", rec.Header().Get("Idempotency-Replayed"))
		require.Equal(t, "queued", r.Status)
		require.True(t, r.Accepted)
		require.False(t, r.Duplicate)
		require.Equal(t, []string{}, r.FlowLegIDs)
		require.Equal(t, []string{}, r.MatchedCaseIDs)
		require.Equal(t, "/v1/evidence/"+r.RawRecordID, r.StatusURL)

		var got evidenceDetailJSON
		require.Eventually(t, func() bool {
			got = evGet(t, b, key, r.RawRecordID)
			return got.Status == "matched"
		}, 10*time.Second, 20*time.Millisecond, tc.prefer)
		require.Equal(t, []string{tc.caseID.String()}, got.MatchedCaseIDs)
		require.Len(t, got.FlowLegIDs, 1)
		require.Equal(t, r.RawRecordID, got.RawRecordID)
		require.Equal(t, "provider", got.Source)
		require.Equal(t, "acme_pay:tr_"+tc.ref+":completed", got.SourceRef)
		require.Equal(t, r.ReceivedAt, got.ReceivedAt)
		require.JSONEq(t, body, string(got.Payload), "the raw record is the body as posted")
		cs := evCase(t, b, key, tc.caseID.String())
		require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(cs))
	}
	rec := b.do(req{method: "GET", path: "/v1/evidence/" + uuid.NewString(), token: key})
	envelope(t, rec, http.StatusNotFound, "not_found")
}

// Without a worker subscribed the api does not wait: 202, and the match
// task is in the outbox (the sweeper's safety net).
func TestEvidenceWithoutWorkerStaysInOutbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	b.intent(org, "order_nw", func(in *intent.CreateInput) { in.PaymentType, in.DestinationCurrency = "other", "USD" })
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM task_outbox"))

	start := time.Now()
	rec := evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_nw","status":"completed",
		"amount":{"amount":"100.00","currency":"USD"},"externalReference":"order_nw"}`)
	require.Less(t, time.Since(start), b.opts.EvidenceWait, "nobody to wait for: no wait")
	r := evReceipt(t, rec, http.StatusAccepted)
	require.Equal(t, "queued", r.Status)
	require.Empty(t, rec.Header().Get("Preference-Applied"), "the client preferred nothing")
	require.Equal(t, "/v1/evidence/"+r.RawRecordID, rec.Header().Get("Location"))
	require.Equal(t, []string{}, r.FlowLegIDs)
	require.Equal(t, []string{}, r.MatchedCaseIDs)

	require.EqualValues(t, 1, evCount(t, b, "SELECT count(*) FROM task_outbox"))
	var taskID, taskType string
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT task_id, task_type FROM task_outbox").Scan(&taskID, &taskType))
	require.Equal(t, "evidence:match:"+r.RawRecordID, taskID)
	require.Equal(t, "evidence:match", taskType)
	require.EqualValues(t, 1, evCount(t, b, "SELECT count(*) FROM raw_records WHERE match_status = 'queued' AND processed_at IS NULL"))
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM flow_legs"))

	got := evGet(t, b, key, r.RawRecordID)
	require.Equal(t, "queued", got.Status)
	require.Equal(t, []string{}, got.FlowLegIDs)
}

// Evidence may arrive before its intent: it waits unmatched, and the new
// intent's case claims it (case:claim on the worker).
func TestEvidenceBeforeIntentIsClaimed(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)

	r := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_late_1","status":"completed",
		"amount":{"amount":"75.00","currency":"USD"},"externalReference":"late_1"}`), http.StatusCreated)
	require.Equal(t, "unmatched", r.Status)
	require.Equal(t, []string{}, r.MatchedCaseIDs)
	require.Len(t, r.FlowLegIDs, 1)

	created := evIntent(t, b, key, `{"externalReference":"late_1","sourceAmount":"75.00","sourceCurrency":"USD","paymentType":"other"}`)
	c := evPollCase(t, b, key, created.CaseID, 10*time.Second, func(c resource.Case) bool { return c.ReconciliationStatus == "reconciled" })
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c), "the claim attaches the earlier evidence")
	require.Equal(t, evMoney{"75", "75", "0", "0", "0", "0", "0", "0"}, evMoneyOf(c))
	require.Len(t, c.FlowLegs, 1)
	require.Equal(t, r.FlowLegIDs[0], c.FlowLegs[0].ID)

	got := evGet(t, b, key, r.RawRecordID)
	require.Equal(t, "matched", got.Status)
	require.Equal(t, []string{created.CaseID}, got.MatchedCaseIDs)
	require.Equal(t, r.FlowLegIDs, got.FlowLegIDs)
	require.Eventually(t, func() bool {
		return evCount(t, b, "SELECT count(*) FROM task_outbox") == 0
	}, 10*time.Second, 20*time.Millisecond, "the claim task cleared its outbox row")
}

// Two cases of the same amount: weak evidence does not guess; a person
// links it by hand, can unlink it, and cannot link it twice.
func TestEvidenceAmbiguousThenManualLink(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, apiKey := b.apiKey(org)
	case1 := b.intent(org, "amb_1", evEUR50).Case.ID.String()
	case2 := b.intent(org, "amb_2", evEUR50).Case.ID.String()

	r := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_amb","status":"completed",
		"amount":{"amount":"50.00","currency":"EUR"}}`), http.StatusCreated)
	require.Equal(t, "ambiguous", r.Status)
	require.Equal(t, []string{}, r.MatchedCaseIDs)
	require.Len(t, r.FlowLegIDs, 1)
	leg := r.FlowLegIDs[0]
	for _, id := range []string{case1, case2} {
		c := evCase(t, b, key, id)
		require.Equal(t, evJudgement{"open", "unreconciled", "needs_review", "ambiguous_match"}, evJudgementOf(c), id)
		require.Empty(t, c.FlowLegs, "a suggestion does not attach the leg")
		require.Contains(t, evTypes(c), "match_link.suggested")
	}

	link := func(caseID, body string) *httptest.ResponseRecorder {
		return b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + caseID + "/links", token: key, body: body,
			headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	}
	unlink := func(caseID, linkID string) *httptest.ResponseRecorder {
		return b.do(req{method: "DELETE", path: "/v1/reconciliation-cases/" + caseID + "/links/" + linkID, token: key})
	}

	rec := link(case1, `{"flowLegId":"`+leg+`","reason":"checked"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	linked := decode[linkResultJSON](t, rec)
	require.Equal(t, "manual", linked.MatchLink.Strategy)
	require.Equal(t, "active", linked.MatchLink.Status)
	require.Equal(t, leg, linked.MatchLink.FlowLegID)
	require.Equal(t, case1, linked.MatchLink.CaseID)
	require.Equal(t, r.RawRecordID, linked.MatchLink.RawRecordID)
	require.Equal(t, "1", linked.MatchLink.Score)
	require.Equal(t, "Linked by hand: checked", linked.MatchLink.Reason)
	require.Equal(t, "api_key:"+apiKey.ID.String(), linked.MatchLink.CreatedBy)
	require.Equal(t, case1, linked.Case.ID)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(linked.Case))
	require.Len(t, linked.Case.FlowLegs, 1)
	require.Equal(t, leg, linked.Case.FlowLegs[0].ID)

	c2 := evCase(t, b, key, case2)
	require.Equal(t, evJudgement{"open", "unreconciled", "<nil>", "<nil>"}, evJudgementOf(c2), "the suggestion to case 2 was dismissed")
	require.Nil(t, c2.UnexplainedDelta)
	got := evGet(t, b, key, r.RawRecordID)
	require.Equal(t, "matched", got.Status)
	require.Equal(t, []string{case1}, got.MatchedCaseIDs)

	// Another organization sees none of it.
	org2 := b.org("Other")
	key2, _ := b.apiKey(org2)
	other := b.intent(org2, "amb_1", evEUR50).Case.ID.String()
	envelope(t, b.do(req{method: "GET", path: "/v1/evidence/" + r.RawRecordID, token: key2}), http.StatusNotFound, "not_found")
	rec = b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + other + "/links", token: key2,
		body: `{"flowLegId":"` + leg + `"}`, headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	envelope(t, rec, http.StatusNotFound, "not_found")
	envelope(t, b.do(req{method: "DELETE", path: "/v1/reconciliation-cases/" + case1 + "/links/" + linked.MatchLink.ID,
		token: key2}), http.StatusNotFound, "not_found")

	// A leg attaches to one case.
	e := envelope(t, link(case2, `{"flowLegId":"`+leg+`"}`), http.StatusConflict, "flow_leg_already_linked")
	require.Equal(t, case1, e.Details.(map[string]any)["caseId"])
	require.Empty(t, evCase(t, b, key, case2).FlowLegs)

	rec = unlink(case1, linked.MatchLink.ID)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	unlinked := decode[linkResultJSON](t, rec)
	require.Equal(t, linked.MatchLink.ID, unlinked.MatchLink.ID)
	require.Equal(t, "unlinked", unlinked.MatchLink.Status)
	require.NotNil(t, unlinked.MatchLink.EndedAt)
	require.Equal(t, "api_key:"+apiKey.ID.String(), evS(unlinked.MatchLink.EndedBy))
	require.Equal(t, evJudgement{"open", "unreconciled", "<nil>", "<nil>"}, evJudgementOf(unlinked.Case),
		"the case was resolved automatically, so losing its evidence reopens it")
	require.Empty(t, unlinked.Case.FlowLegs)
	require.Nil(t, unlinked.Case.ResolvedAt)
	require.Nil(t, unlinked.Case.ReconciledAt)
	require.Contains(t, evTypes(unlinked.Case), "match_link.removed")
	got = evGet(t, b, key, r.RawRecordID)
	require.Equal(t, "unmatched", got.Status)
	require.Equal(t, []string{}, got.MatchedCaseIDs)

	e = envelope(t, unlink(case1, linked.MatchLink.ID), http.StatusConflict, "match_link_not_active")
	require.Equal(t, "unlinked", e.Details.(map[string]any)["status"])
	envelope(t, unlink(case1, uuid.NewString()), http.StatusNotFound, "not_found")
	envelope(t, unlink(case2, linked.MatchLink.ID), http.StatusNotFound, "not_found")

	envelope(t, link(case1, `{"flowLegId":"`+uuid.NewString()+`"}`), http.StatusNotFound, "not_found")
	envelope(t, link(uuid.NewString(), `{"flowLegId":"`+leg+`"}`), http.StatusNotFound, "not_found")
	e = envelope(t, link(case1, `{"flowLegId":"leg-1"}`), http.StatusBadRequest, "invalid_request")
	require.Len(t, e.Issues, 1)
	require.Equal(t, []string{"flowLegId"}, e.Issues[0].Path)
	e = envelope(t, link(case1, `{}`), http.StatusBadRequest, "invalid_request")
	require.Equal(t, []string{"flowLegId"}, e.Issues[0].Path)

	// Free again, the leg can go to the other case.
	rec = link(case2, `{"flowLegId":"`+leg+`"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	relinked := decode[linkResultJSON](t, rec)
	require.Equal(t, "Linked by hand.", relinked.MatchLink.Reason)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(relinked.Case))
}

// evMutate decodes a JSON object, lets f change it and encodes it again.
func evMutate(t *testing.T, base string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(base), &m))
	f(m)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

func evPaths(is []Issue) []string {
	out := make([]string, len(is))
	for i, x := range is {
		out[i] = strings.Join(x.Path, ".")
	}
	sort.Strings(out)
	return out
}

// Invalid evidence is refused whole, with every problem at its path, and
// stores nothing.
func TestEvidenceValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)

	bases := map[string]string{
		"provider": `{"provider":"acme_pay","providerTransferId":"tr_v","status":"completed","amount":{"amount":"10.00","currency":"USD"}}`,
		"onchain": `{"chainFamily":"evm","chainId":1,"txHash":"` + evTxHash + `","status":"confirmed",
			"amount":{"amount":"10.00","currency":"USDC"},"toAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}`,
		"bank": `{"direction":"credit","amount":{"amount":"10.00","currency":"EUR"},"status":"booked","bookingDate":"2026-01-31","bankReference":"BR-1"}`,
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(ks ...string) func(map[string]any) {
		return func(m map[string]any) {
			for _, k := range ks {
				delete(m, k)
			}
		}
	}
	type tc struct {
		name   string
		change func(map[string]any)
		want   []string // issue paths, dot-joined
	}
	common := []tc{
		{"empty object", func(m map[string]any) { clear(m) }, nil}, // want set per source below
		{"bad status", set("status", "done"), []string{"status"}},
		{"bad currency", set("amount", map[string]any{"amount": "10.00", "currency": "usd"}), []string{"amount.currency"}},
		{"unknown currency", set("amount", map[string]any{"amount": "10.00", "currency": "ZZZ"}), []string{"amount.currency"}},
		{"amount as a JSON number", set("amount", map[string]any{"amount": 10, "currency": "USD"}), []string{"amount.amount"}},
		{"amount with exponent", set("amount", map[string]any{"amount": "1e3", "currency": "USD"}), []string{"amount.amount"}},
		{"zero amount", set("amount", map[string]any{"amount": "0", "currency": "USD"}), []string{"amount.amount"}},
		{"negative amount", set("amount", map[string]any{"amount": "-5", "currency": "USD"}), []string{"amount.amount"}},
		{"amount not an object", set("amount", "10.00"), []string{"amount"}},
		{"unknown field", set("surprise", true), []string{"surprise"}},
		{"paymentIntentId not a uuid", set("paymentIntentId", "nope"), []string{"paymentIntentId"}},
		{"empty externalReference", set("externalReference", ""), []string{"externalReference"}},
		{"occurredAt not RFC 3339", set("occurredAt", "yesterday"), []string{"occurredAt"}},
		{"reference without value", set("references", []any{map[string]any{"type": "invoice"}}), []string{"references.0.value"}},
	}
	perSource := map[string][]tc{
		"provider": {
			{"missing required fields", del("provider", "providerTransferId", "status", "amount"),
				[]string{"amount", "provider", "providerTransferId", "status"}},
			{"negative provider fee", set("fees", map[string]any{"providerFee": "-1.00"}), []string{"fees.providerFee"}},
			{"negative network fee", set("fees", map[string]any{"networkFee": "-0.01", "developerFee": "0"}), []string{"fees.networkFee"}},
			{"fee as a number", set("fees", map[string]any{"developerFee": 1}), []string{"fees.developerFee"}},
			{"zero fxRate", set("fxRate", "0"), []string{"fxRate"}},
			{"bad destination currency", set("destinationAmount", map[string]any{"amount": "9", "currency": "EURO"}),
				[]string{"destinationAmount.currency"}},
		},
		"onchain": {
			{"missing required fields", del("chainFamily", "txHash", "status", "amount"),
				[]string{"amount", "chainFamily", "status", "txHash"}},
			{"EVM txHash too short", set("txHash", "0xabc123"), []string{"txHash"}},
			{"EVM txHash not hex", set("txHash", "0x"+strings.Repeat("g", 64)), []string{"txHash"}},
			{"bad EIP-55 checksum", set("toAddress", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), []string{"toAddress"}},
			{"short address", set("fromAddress", "0x1234"), []string{"fromAddress"}},
			{"chainFamily bitcoin", set("chainFamily", "bitcoin"), []string{"chainFamily"}},
			{"negative chain id", set("chainId", -1), []string{"chainId"}},
			{"negative network fee", set("networkFee", "-1"), []string{"networkFee"}},
		},
		"bank": {
			{"missing required fields", del("direction", "amount", "status"), []string{"amount", "direction", "status"}},
			{"no sourceRef, bankReference or endToEndId", del("bankReference"), []string{"sourceRef"}},
			{"bookingDate month 13", set("bookingDate", "2026-13-01"), []string{"bookingDate"}},
			{"valueDate not a date", set("valueDate", "31/01/2026"), []string{"valueDate"}},
			{"bad direction", set("direction", "sideways"), []string{"direction"}},
		},
	}
	empty := map[string][]string{
		"provider": {"amount", "provider", "providerTransferId", "status"},
		"onchain":  {"amount", "chainFamily", "status", "txHash"},
		"bank":     {"amount", "direction", "sourceRef", "status"},
	}
	for _, source := range []string{"provider", "onchain", "bank"} {
		for _, c := range append(slices.Clone(common), perSource[source]...) {
			want := c.want
			if want == nil {
				want = empty[source]
			}
			body := evMutate(t, bases[source], c.change)
			e := envelope(t, evPost(b, key, source, body), http.StatusBadRequest, "invalid_request")
			require.Equal(t, want, evPaths(e.Issues), "%s: %s: %s", source, c.name, body)
			for _, is := range e.Issues {
				require.NotEmpty(t, is.Message, "%s: %s", source, c.name)
			}
		}
	}
	e := envelope(t, evPost(b, key, "provider", `{"provider":"acme_pay",`), http.StatusBadRequest, "invalid_request")
	require.Contains(t, e.Message, "Malformed JSON")
	envelope(t, evPost(b, key, "provider", `[]`), http.StatusBadRequest, "invalid_request")
	envelope(t, evPost(b, key, "provider", `{"provider":"acme_pay"} {}`), http.StatusBadRequest, "invalid_request")

	// Rejected requests left nothing behind: no raw record, no task, no
	// idempotency record (a corrected retry may reuse its key).
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM raw_records"))
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM task_outbox"))
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM idempotency_records"))

	e = envelope(t, evPost(b, key, "provider", bases["provider"], "Idempotency-Key", ""), http.StatusBadRequest, "invalid_idempotency_key")
	require.Contains(t, e.Message, "Idempotency-Key")
	envelope(t, evPost(b, key, "provider", bases["provider"], "Idempotency-Key", strings.Repeat("k", 256)),
		http.StatusBadRequest, "invalid_idempotency_key")

	readOnly, _ := b.apiKey(org, "payment_intents:read")
	e = envelope(t, evPost(b, readOnly, "provider", bases["provider"]), http.StatusForbidden, "forbidden")
	require.Contains(t, e.Message, "evidence:write")
	envelope(t, b.do(req{method: "GET", path: "/v1/evidence/" + uuid.NewString(), token: readOnly}), http.StatusForbidden, "forbidden")
	envelope(t, b.do(req{method: "POST", path: "/v1/evidence/provider", body: bases["provider"],
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}}), http.StatusUnauthorized, "unauthorized")
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM raw_records"))

	// Each base is valid: every case above failed for its one reason.
	for _, source := range []string{"provider", "onchain", "bank"} {
		r := evReceipt(t, evPost(b, key, source, bases[source]), http.StatusAccepted)
		require.Equal(t, "queued", r.Status, source)
	}
	require.EqualValues(t, 3, evCount(t, b, "SELECT count(*) FROM raw_records"))
}

// A transfer reported completed, then reversed: the reversal supersedes the
// completion (same provider transfer), the case no longer reconciles, and
// the case it resolved by itself opens again.
func TestEvidenceReversalReopensCase(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	created := evIntent(t, b, key, `{"externalReference":"order_rev","sourceAmount":"100.00","sourceCurrency":"USD","paymentType":"other"}`)
	at := func(d time.Duration) string { return time.Now().UTC().Add(d).Format(time.RFC3339) }
	body := func(sourceRef, status, occurredAt string) string {
		return `{"provider":"acme_pay","providerTransferId":"tr_A","status":"` + status + `","sourceRef":"` + sourceRef + `",
			"amount":{"amount":"100.00","currency":"USD"},"externalReference":"order_rev","occurredAt":"` + occurredAt + `"}`
	}

	done := evReceipt(t, evPost(b, key, "provider", body("evt_1", "completed", at(-10*time.Minute))), http.StatusCreated)
	require.Equal(t, "evt_1", done.SourceRef)
	require.Equal(t, []string{created.CaseID}, done.MatchedCaseIDs)
	c := evCase(t, b, key, created.CaseID)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c))

	rev := evReceipt(t, evPost(b, key, "provider", body("evt_2", "reversed", at(-5*time.Minute))), http.StatusCreated)
	require.False(t, rev.Duplicate)
	require.Equal(t, "evt_2", rev.SourceRef)
	require.Equal(t, "matched", rev.Status)
	require.Equal(t, []string{created.CaseID}, rev.MatchedCaseIDs)

	c = evCase(t, b, key, created.CaseID)
	require.Equal(t, evJudgement{"open", "unreconciled", "unreconciled", "<nil>"}, evJudgementOf(c),
		"the reversal is the current report: nothing moved")
	require.Nil(t, c.ActualAmount)
	require.Nil(t, c.UnexplainedDelta)
	require.Nil(t, c.ResolvedAt)
	require.Nil(t, c.ReconciledAt)
	require.Equal(t, "failed", c.EvidenceCoverage.Provider)
	require.EqualValues(t, 0, c.RequiredLegsPresent)
	require.Len(t, c.FlowLegs, 2)
	types := evTypes(c)
	require.Equal(t, []string{"match_link.created", "case.evaluated", "case.reopened"}, types[len(types)-3:])
	require.Less(t, slices.Index(types, "case.resolved"), slices.Index(types, "case.reopened"))
}

// Many pieces of evidence at once: each lands once, on its own case; the
// same evidence sent five times at once is stored and normalized once.
func TestEvidenceConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	other := func(in *intent.CreateInput) { in.PaymentType, in.DestinationCurrency = "other", "USD" }
	const n = 20
	caseOf := map[string]string{}
	for i := range n {
		ref := fmt.Sprintf("conc_%d", i)
		caseOf[ref] = b.intent(org, ref, other).Case.ID.String()
	}
	bodyOf := func(ref string) string {
		return `{"provider":"acme_pay","providerTransferId":"tr_` + ref + `","status":"completed",
			"amount":{"amount":"100","currency":"USD"},"externalReference":"` + ref + `"}`
	}

	recs := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i] = evPost(b, key, "provider", bodyOf(fmt.Sprintf("conc_%d", i)))
		}()
	}
	wg.Wait()
	seenLegs := map[string]bool{}
	for i, rec := range recs {
		ref := fmt.Sprintf("conc_%d", i)
		r := evReceipt(t, rec, http.StatusCreated)
		require.Equal(t, "matched", r.Status, ref)
		require.False(t, r.Duplicate, ref)
		require.Equal(t, []string{caseOf[ref]}, r.MatchedCaseIDs, ref)
		require.Len(t, r.FlowLegIDs, 1, ref)
		require.False(t, seenLegs[r.FlowLegIDs[0]])
		seenLegs[r.FlowLegIDs[0]] = true
	}
	for ref, id := range caseOf {
		c := evCase(t, b, key, id)
		require.Len(t, c.FlowLegs, 1, ref)
		require.Equal(t, "tr_"+ref, evS(c.FlowLegs[0].ProviderTransferID))
		require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c), ref)
	}
	require.EqualValues(t, n, evCount(t, b, "SELECT count(*) FROM flow_legs"))

	// The same evidence five times at once, each with its own key.
	dupCase := b.intent(org, "conc_dup", other).Case.ID.String()
	before := evCount(t, b, "SELECT count(*) FROM flow_legs")
	same := make([]*httptest.ResponseRecorder, 5)
	for i := range same {
		wg.Add(1)
		go func() {
			defer wg.Done()
			same[i] = evPost(b, key, "provider", bodyOf("conc_dup"))
		}()
	}
	wg.Wait()
	originals, raws := 0, map[string]bool{}
	for _, rec := range same {
		r := decode[receiptJSON](t, rec)
		raws[r.RawRecordID] = true
		if r.Duplicate {
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			continue
		}
		originals++
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.Equal(t, "matched", r.Status)
		require.Equal(t, []string{dupCase}, r.MatchedCaseIDs)
	}
	require.Equal(t, 1, originals, "exactly one request stored the evidence")
	require.Len(t, raws, 1, "every answer names the one raw record")
	require.Equal(t, before+1, evCount(t, b, "SELECT count(*) FROM flow_legs"))
	require.EqualValues(t, n+1, evCount(t, b, "SELECT count(*) FROM raw_records"))
	c := evCase(t, b, key, dupCase)
	require.Len(t, c.FlowLegs, 1)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c))

	// Both legs of one stablecoin case at once, for several cases: the case
	// lock serializes them; neither evaluation misses the other's leg.
	const m = 8
	payouts := make([]string, m)
	both := make([]*httptest.ResponseRecorder, 2*m)
	for i := range m {
		hash := fmt.Sprintf("0x%064x", i+1)
		ref := fmt.Sprintf("pair_%d", i)
		payouts[i] = b.intent(org, ref, func(in *intent.CreateInput) { in.TxHash = &hash }).Case.ID.String()
		provider := `{"provider":"acme_pay","providerTransferId":"tr_` + ref + `","status":"completed",
			"amount":{"amount":"100","currency":"USD"},"destinationAmount":{"amount":"100","currency":"USDC"},"externalReference":"` + ref + `"}`
		onchain := `{"chainFamily":"evm","chainId":1,"txHash":"` + hash + `","status":"confirmed","amount":{"amount":"100","currency":"USDC"}}`
		wg.Add(2)
		go func() { defer wg.Done(); both[2*i] = evPost(b, key, "provider", provider) }()
		go func() { defer wg.Done(); both[2*i+1] = evPost(b, key, "onchain", onchain) }()
	}
	wg.Wait()
	for i, rec := range both {
		r := evReceipt(t, rec, http.StatusCreated)
		require.Equal(t, []string{payouts[i/2]}, r.MatchedCaseIDs, i)
	}
	for i, id := range payouts {
		c := evCase(t, b, key, id)
		require.Len(t, c.FlowLegs, 2, i)
		require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c), i)
		require.EqualValues(t, 2, c.RequiredLegsPresent, i)
	}
}

// BUG (fails at the time of writing). A bank line without a client sourceRef is deduplicated on
// bankReference + status alone. Banks reuse references across accounts, and
// statements carry placeholders ("NONREF" in MT940, "NOTPROVIDED" in ISO
// 20022): two different lines — other account, amount and date — must not
// collapse into one, or the second is silently lost behind a 200 duplicate.
func TestEvidenceBankLinesSharingAPlaceholderReference(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	first := evReceipt(t, evPost(b, key, "bank", `{"direction":"credit","amount":{"amount":"10.00","currency":"EUR"},
		"status":"booked","bookingDate":"2026-01-31","bankReference":"NONREF","bankAccount":"DE89370400440532013000"}`),
		http.StatusAccepted)
	require.False(t, first.Duplicate)
	// The very same line again is a duplicate, as it should be.
	again := evReceipt(t, evPost(b, key, "bank", `{"direction":"credit","amount":{"amount":"10.00","currency":"EUR"},
		"status":"booked","bookingDate":"2026-01-31","bankReference":"NONREF","bankAccount":"DE89370400440532013000"}`),
		http.StatusOK)
	require.True(t, again.Duplicate)

	rec := evPost(b, key, "bank", `{"direction":"debit","amount":{"amount":"99.00","currency":"EUR"},
		"status":"booked","bookingDate":"2026-02-03","bankReference":"NONREF","bankAccount":"GB29NWBK60161331926819"}`)
	other := decode[receiptJSON](t, rec)
	require.False(t, other.Duplicate, "another account's line of another amount and date is other evidence: %s", rec.Body.String())
	require.NotEqual(t, first.RawRecordID, other.RawRecordID)
	require.EqualValues(t, 2, evCount(t, b, "SELECT count(*) FROM raw_records"))
}

// Evidence left ambiguous between two cases by amount is claimed by a case
// opened later that shares a strong key with it (here the provider transfer
// id): the strong strategy settles it, and the suggestions are dismissed.
// Evidence that names an intent by externalReference is never placed by
// amount: it waits, unmatched, for that intent.
func TestEvidenceAmbiguousEvidenceClaimedByAStrongKey(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	case1 := b.intent(org, "amb_1", evEUR50).Case.ID.String()
	case2 := b.intent(org, "amb_2", evEUR50).Case.ID.String()

	named := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_named","status":"completed",
		"amount":{"amount":"50.00","currency":"EUR"},"externalReference":"amb_named"}`), http.StatusCreated)
	require.Equal(t, "unmatched", named.Status, "it names an intent that does not exist yet: no guess by amount")

	r := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_amb_3","status":"completed",
		"amount":{"amount":"50.00","currency":"EUR"}}`), http.StatusCreated)
	require.Equal(t, "ambiguous", r.Status, "two cases fit the amount")

	created := evIntent(t, b, key, `{"externalReference":"amb_3","sourceAmount":"50.00","sourceCurrency":"EUR","paymentType":"other","providerTransferId":"tr_amb_3"}`)
	require.Eventually(t, func() bool {
		return evCount(t, b, "SELECT count(*) FROM task_outbox") == 0
	}, 10*time.Second, 20*time.Millisecond, "the claim task ran")
	c := evPollCase(t, b, key, created.CaseID, 3*time.Second, func(c resource.Case) bool { return c.ReconciliationStatus == "reconciled" })
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c),
		"amb_3's case claims the evidence by its provider transfer id")
	require.Len(t, c.FlowLegs, 1)
	require.Equal(t, "matched", evGet(t, b, key, r.RawRecordID).Status)
	for _, id := range []string{case1, case2} {
		require.Equal(t, evJudgement{"open", "unreconciled", "<nil>", "<nil>"}, evJudgementOf(evCase(t, b, key, id)),
			"the suggestions were dismissed")
	}

	later := evIntent(t, b, key, `{"externalReference":"amb_named","sourceAmount":"50.00","sourceCurrency":"EUR","paymentType":"other"}`)
	c = evPollCase(t, b, key, later.CaseID, 10*time.Second, func(c resource.Case) bool { return c.ReconciliationStatus == "reconciled" })
	require.Equal(t, "matched", *c.Verdict, "the named intent claims its evidence")
}

// Removing every suggestion of an ambiguous leg by hand leaves the leg free:
// its raw record must say unmatched again, not "ambiguous" with nobody asked
// to decide, so that a case opened later can still claim it (claims only look
// at unmatched evidence). Regression test: at commit 3e50122 Unlink marked
// the record unmatched only when an active link was removed.
func TestEvidenceUnlinkingEverySuggestionFreesTheEvidence(t *testing.T) {
	t.Parallel()
	b := setup(t, evLongWait).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	b.intent(org, "amb_1", evEUR50)
	b.intent(org, "amb_2", evEUR50)
	r := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_amb","status":"completed",
		"amount":{"amount":"50.00","currency":"EUR"}}`), http.StatusCreated)
	require.Equal(t, "ambiguous", r.Status)

	rec := b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?format=json", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	removed := 0
	for _, it := range decode[struct{ Items []exportItem }](t, rec).Items {
		for _, l := range it.Evidence.MatchLinks {
			require.Equal(t, "suggested", l.Status)
			d := b.do(req{method: "DELETE", path: "/v1/reconciliation-cases/" + it.Case.ID + "/links/" + l.ID, token: key})
			require.Equal(t, http.StatusOK, d.Code, d.Body.String())
			removed++
		}
	}
	require.Equal(t, 2, removed)
	require.EqualValues(t, 0, evCount(t, b, "SELECT count(*) FROM match_links WHERE status IN ('active', 'suggested')"))
	require.Equal(t, "unmatched", evGet(t, b, key, r.RawRecordID).Status,
		"no case holds or is offered the leg any more: the evidence is unmatched")
}

// evEUR50 makes an intent of type other for 50.00 EUR: two of them are
// what amount-only evidence cannot tell apart.
func evEUR50(in *intent.CreateInput) {
	in.PaymentType = "other"
	in.SourceAmount, in.SourceCurrency = decimal.RequireFromString("50.00"), "EUR"
	in.DestinationAmount, in.DestinationCurrency = decimal.RequireFromString("50.00"), "EUR"
}
