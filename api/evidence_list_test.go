package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/intent"
)

// GET /v1/evidence lists raw records newest first with what became of each;
// status=unmatched is the finance team's "evidence nobody claimed" view.
func TestEvidenceList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, other := b.org("Acme"), b.org("Other")
	key, _ := b.apiKey(org)
	b.intent(org, "order_1", func(in *intent.CreateInput) { in.PaymentType = "other" })
	matched := b.evidence(org, "provider", `{"provider":"p","providerTransferId":"tr_1","status":"completed",`+
		`"amount":{"amount":"100","currency":"USDC"},"externalReference":"order_1"}`)
	unmatched := b.evidence(org, "provider", `{"provider":"p","providerTransferId":"tr_2","status":"completed",`+
		`"amount":{"amount":"5","currency":"USD"},"externalReference":"nobody"}`)
	bank := b.evidence(org, "bank", `{"direction":"credit","amount":{"amount":"7","currency":"EUR"},"status":"booked",`+
		`"bankReference":"REF-1","externalReference":"nobody-either"}`)
	b.evidence(other, "provider", `{"provider":"p","providerTransferId":"tr_3","status":"completed","amount":{"amount":"1","currency":"USD"}}`)
	require.Equal(t, "matched", matched.Status)
	require.Equal(t, "unmatched", unmatched.Status)

	type page struct {
		Items      []evidenceDetailJSON `json:"items"`
		Total      int                  `json:"total"`
		NextCursor *string              `json:"nextCursor"`
	}
	list := func(query string) page {
		t.Helper()
		rec := b.do(req{method: "GET", path: "/v1/evidence" + query, token: key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return decode[page](t, rec)
	}
	ids := func(p page) []string {
		out := make([]string, len(p.Items))
		for i, it := range p.Items {
			out[i] = it.RawRecordID
		}
		return out
	}

	all := list("")
	require.Equal(t, 3, all.Total, "another organization's evidence is not listed")
	require.Equal(t, []string{bank.RawRecordID.String(), unmatched.RawRecordID.String(), matched.RawRecordID.String()}, ids(all))
	require.Equal(t, []string{matched.MatchedCaseIDs[0].String()}, all.Items[2].MatchedCaseIDs)
	require.Len(t, all.Items[2].FlowLegIDs, 1)
	require.JSONEq(t, `{"direction":"credit","amount":{"amount":"7","currency":"EUR"},"status":"booked",`+
		`"bankReference":"REF-1","externalReference":"nobody-either"}`, string(all.Items[0].Payload))

	open := list("?status=unmatched")
	require.Equal(t, 2, open.Total)
	require.Equal(t, []string{bank.RawRecordID.String(), unmatched.RawRecordID.String()}, ids(open))
	require.Equal(t, []string{bank.RawRecordID.String()}, ids(list("?status=unmatched&source=bank")))
	require.Empty(t, list("?status=ambiguous").Items)

	first := list("?limit=2")
	require.Len(t, first.Items, 2)
	require.NotNil(t, first.NextCursor)
	rest := list("?limit=2&cursor=" + *first.NextCursor)
	require.Equal(t, []string{matched.RawRecordID.String()}, ids(rest))

	for _, bad := range []string{"?status=lost", "?source=fax", "?limit=0", "?nope=1", "?from=yesterday"} {
		envelope(t, b.do(req{method: "GET", path: "/v1/evidence" + bad, token: key}), http.StatusBadRequest, "invalid_request")
	}
	noScope, _ := b.apiKey(org, "payment_intents:read")
	envelope(t, b.do(req{method: "GET", path: "/v1/evidence", token: noScope}), http.StatusForbidden, "forbidden")
	reader, _ := b.apiKey(org, "reconciliation_cases:read")
	require.Equal(t, http.StatusOK, b.do(req{method: "GET", path: "/v1/evidence", token: reader}).Code)
	envelope(t, b.do(req{method: "GET", path: "/v1/evidence/" + uuid.NewString(), token: key}), http.StatusNotFound, "not_found")
}

// An archived case is retired: evidence is not linked to it by hand until it
// is reopened.
func TestEvidenceIsNotLinkedToAnArchivedCase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	c := b.intent(org, "order_a", func(in *intent.CreateInput) { in.PaymentType = "other" }).Case.ID.String()
	free := b.evidence(org, "provider", `{"provider":"p","providerTransferId":"tr_free","status":"completed",`+
		`"amount":{"amount":"3","currency":"USD"},"externalReference":"elsewhere"}`)
	require.Equal(t, "unmatched", free.Status)
	idem := func() map[string]string { return map[string]string{"Idempotency-Key": uuid.NewString()} }
	require.Equal(t, http.StatusOK, b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + c + "/archive", token: key, headers: idem()}).Code)
	link := `{"flowLegId":"` + free.FlowLegIDs[0].String() + `"}`
	e := envelope(t, b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + c + "/links", token: key, headers: idem(), body: link}),
		http.StatusConflict, "invalid_case_transition")
	require.Equal(t, "archived", e.Details.(map[string]any)["status"])
	require.Equal(t, http.StatusOK, b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + c + "/reopen", token: key, headers: idem()}).Code)
	rec := b.do(req{method: "POST", path: "/v1/reconciliation-cases/" + c + "/links", token: key, headers: idem(), body: link})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
}
