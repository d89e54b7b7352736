package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Helpers of this file are prefixed with lg.

func lgPost(b *bundle, token, path, body string) *httptest.ResponseRecorder {
	return b.do(req{method: "POST", path: path, token: token, body: body, headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
}

type lgMatch struct {
	ID             string   `json:"id"`
	Status         string   `json:"status"`
	Strategy       string   `json:"strategy"`
	Reason         string   `json:"reason"`
	Amount         string   `json:"amount"`
	SourceEntryIDs []string `json:"source_entry_ids"`
	LedgerEntryIDs []string `json:"ledger_entry_ids"`
}

type lgItem struct {
	ID          string  `json:"id"`
	Amount      string  `json:"amount"`
	Direction   string  `json:"direction"`
	MatchStatus string  `json:"match_status"`
	MatchID     *string `json:"match_id"`
	EndToEndID  *string `json:"end_to_end_id"`
}

type lgList[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// The flow of seed 003 end to end: a ledger with its bank account and GL
// entries; a run; a camt.053 statement uploaded (parsed by the worker);
// auto-match (a reference match, two amount+date matches, a split of two
// lines against one entry); matches and discrepancies reviewed; a match
// accepted, one rejected and its line matched by hand; a line closed and
// reopened; the run closed, after which it takes no more review.
func TestLedgerRunSeedFlow(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org, "ledgers:read", "ledgers:write")

	rec := lgPost(b, key, "/v1/ledgers", `{"name":"Main books","currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	ledgerID := decode[map[string]any](t, rec)["id"].(string)
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/accounts", `{"name":"Bank","code":"1200","currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/accounts", `{"name":"Bank again","code":"1200","currency":"EUR"}`)
	envelope(t, rec, http.StatusConflict, "ledger_account_exists")

	// The statement (camt_parser__valid_example.xml, booked 2013-12-27):
	// -2.00 EndToEndReference, -3.00, +1.00, and a batch of -3.50 and
	// -2.50; it opens at 33.06 and closes at 23.06.
	entries := `{"entries":[
		{"account":"1200","direction":"debit","amount":"33.06","currency":"EUR","booking_date":"2013-12-01","external_id":"OPEN","description":"opening"},
		{"account":"1200","direction":"credit","amount":"2.00","currency":"EUR","booking_date":"2013-12-27","reference":"EndToEndReference","external_id":"GL-2"},
		{"account":"1200","direction":"credit","amount":"3.00","currency":"EUR","booking_date":"2013-12-25","external_id":"GL-3"},
		{"account":"1200","direction":"debit","amount":"1.00","currency":"EUR","booking_date":"2013-12-27","external_id":"GL-1"},
		{"account":"1200","direction":"credit","amount":"6.00","currency":"EUR","booking_date":"2013-12-27","external_id":"GL-6","description":"payroll"},
		{"account":"1200","direction":"credit","amount":"10.00","currency":"EUR","booking_date":"2013-12-27","external_id":"GL-FEE"}]}`
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/entries", entries)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.EqualValues(t, 6, decode[map[string]any](t, rec)["created"])
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/entries", entries)
	require.Equal(t, []any{"GL-1", "GL-2", "GL-3", "GL-6", "GL-FEE", "OPEN"}, sortedAny(envelope(t, rec, http.StatusConflict, "ledger_entry_exists").Details.(map[string]any)["external_ids"]))
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/entries", `{"entries":[{"account":"9999","direction":"debit","amount":"1","currency":"EUR","booking_date":"2013-12-01","external_id":"X"}]}`)
	require.Equal(t, []string{"entries", "0", "account"}, envelope(t, rec, http.StatusBadRequest, CodeInvalidRequest).Issues[0].Path)
	for path, total := range map[string]int{"": -1, "/accounts": 1, "/entries": 6} {
		rec = b.do(req{method: "GET", path: "/v1/ledgers/" + ledgerID + path, token: key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		if total >= 0 {
			require.Equal(t, total, decode[lgList[map[string]any]](t, rec).Total, path)
		}
	}

	// The run, keyed in its body as the seed shows: the same key again is the same run.
	runBody := `{"ledger_id":"` + ledgerID + `","mode":"manual","source_type":"upload","idempotency_key":"run-2013-12","note":"December"}`
	rec = b.do(req{method: "POST", path: "/v1/ledgers/reconciliation/runs", token: key, body: runBody})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	run := decode[map[string]any](t, rec)
	runID := run["id"].(string)
	require.Equal(t, "pending", run["status"])
	rec = b.do(req{method: "POST", path: "/v1/ledgers/reconciliation/runs", token: key, body: runBody})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, runID, decode[map[string]any](t, rec)["id"])
	require.Equal(t, "true", rec.Header().Get("Idempotency-Replayed"))
	runs := "/v1/ledgers/reconciliation/runs/" + runID

	// Both lists show the one ledger and the one run.
	rec = b.do(req{method: "GET", path: "/v1/ledgers", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, 1, decode[lgList[map[string]any]](t, rec).Total)
	rec = b.do(req{method: "GET", path: "/v1/ledgers/reconciliation/runs?ledger_id=" + ledgerID + "&status=pending", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	listed := decode[lgList[map[string]any]](t, rec)
	require.Equal(t, 1, listed.Total)
	require.Equal(t, runID, listed.Items[0]["id"])

	body, ct := imMultipart(t, "statement.xml", imFixture(t, "camt053", "camt_parser__valid_example.xml"), nil)
	rec = imPost(b, key, runs+"/sources/upload", body, ct)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	up := decode[struct {
		SourceFile struct {
			ID    string `json:"id"`
			RunID string `json:"run_id"`
		} `json:"source_file"`
		Imported int `json:"imported"`
	}](t, rec)
	require.Equal(t, runID, up.SourceFile.RunID)
	require.Equal(t, 5, up.Imported)
	rec = b.do(req{method: "GET", path: runs + "/sources", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"status":"processed"`)
	require.Contains(t, rec.Body.String(), `"closing_balance":{"date":"2013-12-27","amount":"23.06"`)

	rec = lgPost(b, key, runs+"/auto-match", "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.EqualValues(t, 4, decode[map[string]any](t, rec)["matched"])
	// The legacy trigger on the ledger auto-matches the same run: nothing is
	// left to match, nothing is matched twice, and the answer is the run's
	// outcome, its four matches.
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/reconcile", "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	again := decode[map[string]any](t, rec)
	require.Equal(t, runID, again["run_id"])
	require.EqualValues(t, 4, again["matched"])
	rec = b.do(req{method: "GET", path: runs, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "completed", decode[map[string]any](t, rec)["status"])

	rec = b.do(req{method: "GET", path: runs + "/matches", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	matches := decode[lgList[lgMatch]](t, rec).Items
	require.Len(t, matches, 4)
	byAmount := map[string]lgMatch{}
	for _, m := range matches {
		require.Equal(t, "suggested", m.Status, "a manual run suggests: %s", m.Reason)
		require.NotEmpty(t, m.Reason)
		byAmount[m.Amount] = m
	}
	require.Equal(t, "reference_amount", byAmount["2"].Strategy)
	require.Equal(t, "amount_date_window", byAmount["3"].Strategy)
	require.Equal(t, "amount_date_window", byAmount["1"].Strategy)
	split := byAmount["6"]
	require.Len(t, split.SourceEntryIDs, 2, "3.50 and 2.50 against one GL entry")
	require.Len(t, split.LedgerEntryIDs, 1)

	rec = b.do(req{method: "GET", path: runs + "/discrepancies", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	disc := decode[lgList[struct {
		ID, Type, Severity, Status, Message string
		LedgerEntryIDs                      []string `json:"ledger_entry_ids"`
	}]](t, rec).Items
	types := map[string]string{}
	for _, d := range disc {
		types[d.Type] = d.Severity
		require.Equal(t, "open", d.Status)
	}
	require.Equal(t, map[string]string{"missing_in_statement": "warning", "balance_mismatch": "critical"}, types, "GL-FEE is not on the statement; the GL closes 10.00 lower")
	rec = b.do(req{method: "PATCH", path: "/v1/ledgers/reconciliation/discrepancies/" + disc[0].ID, token: key,
		body: `{"status":"in_review","note":"asking the bank"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "in_review", decode[map[string]any](t, rec)["status"])

	// Review: accept the reference match; reject the 3.00 one.
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/matches/"+byAmount["2"].ID+"/accept", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "accepted", decode[lgMatch](t, rec).Status)
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/matches/"+byAmount["2"].ID+"/accept", "")
	envelope(t, rec, http.StatusConflict, CodeInvalidStateTransition)
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/matches/"+byAmount["3"].ID+"/reject", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "rejected", decode[lgMatch](t, rec).Status)
	rec = b.do(req{method: "PATCH", path: "/v1/ledgers/reconciliation/matches/" + byAmount["1"].ID + "/note", token: key, body: `{"note":"checked with treasury"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"note":"checked with treasury"`)

	items := func() map[string]lgItem {
		rec := b.do(req{method: "GET", path: runs + "/items", token: key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		out := map[string]lgItem{}
		for _, it := range decode[lgList[lgItem]](t, rec).Items {
			out[it.Direction+it.Amount] = it
		}
		return out
	}
	got := items()
	require.Len(t, got, 5)
	require.Equal(t, "matched", got["debit2"].MatchStatus)
	require.Equal(t, "unmatched", got["debit3"].MatchStatus, "its match was rejected")
	require.Equal(t, "partial", got["credit1"].MatchStatus, "suggested, not yet accepted")

	// Close and reopen the free 3.00 line; a matched line cannot be closed.
	three := got["debit3"].ID
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/items/"+three+"/close", `{"ledger_id":"`+ledgerID+`","reason":"manual_review","note":"looking into it"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "closed", decode[lgItem](t, rec).MatchStatus)
	require.Equal(t, "closed", items()["debit3"].MatchStatus)
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/items/"+three+"/close", `{"reason":"manual_review"}`)
	envelope(t, rec, http.StatusConflict, CodeInvalidStateTransition)
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/items/"+got["debit2"].ID+"/close", `{"reason":"manual_review"}`)
	envelope(t, rec, http.StatusConflict, CodeInvalidStateTransition)
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/items/"+three+"/reopen", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "unmatched", items()["debit3"].MatchStatus)

	// GL views: the rejected match freed GL-3.
	rec = b.do(req{method: "GET", path: runs + "/gl-only", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	glOnly := decode[lgList[struct {
		ID         string `json:"id"`
		ExternalID string `json:"external_id"`
	}]](t, rec)
	free := map[string]string{}
	for _, e := range glOnly.Items {
		free[e.ExternalID] = e.ID
	}
	require.Len(t, free, 3)
	require.Contains(t, free, "GL-3")
	rec = b.do(req{method: "GET", path: runs + "/gl-all", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, 6, decode[lgList[json.RawMessage]](t, rec).Total)
	rec = b.do(req{method: "GET", path: "/v1/ledgers/accounts?ledger_id=" + ledgerID, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"unreconciled_count":3`)

	// Match the 3.00 line by hand; the same GL entry twice is refused.
	manual := `{"source_entry_ids":["` + three + `"],"ledger_entry_ids":["` + free["GL-3"] + `"],"note":"value date differs"}`
	rec = lgPost(b, key, runs+"/manual-match", manual)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.Equal(t, "accepted", decode[lgMatch](t, rec).Status)
	rec = lgPost(b, key, runs+"/manual-match", manual)
	envelope(t, rec, http.StatusConflict, "entry_already_matched")
	require.Equal(t, "matched", items()["debit3"].MatchStatus)

	// Close the run: no more review.
	rec = b.do(req{method: "PATCH", path: runs, token: key, body: `{"note":"December, done","status":"closed"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "closed", decode[map[string]any](t, rec)["status"])
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/matches/"+byAmount["1"].ID+"/accept", "")
	envelope(t, rec, http.StatusConflict, CodeInvalidStateTransition)

	// Every manual action is in the audit trail; each completion of the
	// run's auto-match (by the run, then by the legacy trigger) was an
	// event for webhooks.
	var audits, events int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE ledger_run_id = $1`, runID).Scan(&audits))
	require.GreaterOrEqual(t, audits, 10)
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM event_outbox WHERE event_type = 'ledger_reconciliation_run.completed'`).Scan(&events))
	require.Equal(t, 2, events)

	// Another run takes the same statement; its source, then the run
	// itself, can be deleted.
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/runs", `{"ledger_id":"`+ledgerID+`","mode":"manual","source_type":"upload"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	other := "/v1/ledgers/reconciliation/runs/" + decode[map[string]any](t, rec)["id"].(string)
	rec = imPost(b, key, other+"/sources/upload", body, ct)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	fileID := decode[struct {
		SourceFile struct{ ID string } `json:"source_file"`
	}](t, rec).SourceFile.ID
	rec = b.do(req{method: "DELETE", path: other + "/sources/" + fileID, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = b.do(req{method: "DELETE", path: other, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	envelope(t, b.do(req{method: "GET", path: other, token: key}), http.StatusNotFound, CodeNotFound)
}

func sortedAny(v any) []any {
	out := append([]any(nil), v.([]any)...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].(string) < out[i].(string) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
