package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// An automatic run auto-matches each statement it parses. A client that
// asks for auto-match right after the upload, as seed 003's flow has it,
// while the run's own auto-match is running (or once it has completed), is
// answered promptly with the run's outcome: completed, with the run's real
// number of matches, each made once.
func TestAutoMatchRightAfterUploadToAutomaticRun(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org, "ledgers:read", "ledgers:write")
	const wait = 20 * time.Second
	prefer := map[string]string{"Idempotency-Key": "", "Prefer": fmt.Sprintf("wait=%d", int(wait/time.Second))}
	post := func(path, body, contentType string) *httptest.ResponseRecorder {
		prefer["Idempotency-Key"] = uuid.NewString()
		if contentType != "" {
			prefer["Content-Type"] = contentType
		}
		defer delete(prefer, "Content-Type")
		return b.do(req{method: "POST", path: path, token: key, body: body, headers: prefer})
	}

	rec := lgPost(b, key, "/v1/ledgers", `{"name":"Main books","currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	ledgerID := decode[map[string]any](t, rec)["id"].(string)
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/accounts", `{"name":"Bank","code":"1200","currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	// Enough lines that the run's own auto-match is still at work when the
	// client's request comes in; each has its GL entry by reference and amount.
	const lines = 3000
	var csv, entries strings.Builder
	csv.WriteString("booking_date,amount,currency,reference\n")
	entries.WriteString(`{"entries":[`)
	for i := range lines {
		amount := fmt.Sprintf("%d.%02d", 10+i, i%100)
		fmt.Fprintf(&csv, "2026-03-02,%s,EUR,INV-%05d\n", amount, i)
		if i > 0 {
			entries.WriteString(",")
		}
		fmt.Fprintf(&entries, `{"account":"1200","direction":"debit","amount":"%s","currency":"EUR","booking_date":"2026-03-02","reference":"INV-%05d","external_id":"GL-%05d"}`, amount, i, i)
	}
	entries.WriteString("]}")
	rec = lgPost(b, key, "/v1/ledgers/"+ledgerID+"/entries", entries.String())
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	rec = lgPost(b, key, "/v1/ledgers/reconciliation/runs", `{"ledger_id":"`+ledgerID+`","mode":"automatic","source_type":"upload"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	runID := decode[map[string]any](t, rec)["id"].(string)
	runs := "/v1/ledgers/reconciliation/runs/" + runID

	body, ct := imMultipart(t, "march.csv", []byte(csv.String()), nil)
	rec = post(runs+"/sources/upload", body, ct)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	require.EqualValues(t, lines, decode[map[string]any](t, rec)["imported"])

	matches := func() int {
		var n int
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, runID).Scan(&n))
		return n
	}
	autoMatch := func(what string) {
		t.Helper()
		start := time.Now()
		rec := post(runs+"/auto-match", "", "")
		took := time.Since(start)
		require.Equal(t, http.StatusCreated, rec.Code, "%s, after %s: %s", what, took, rec.Body.String())
		got := decode[autoMatchResponse](t, rec)
		require.Equal(t, "completed", got.Status, what)
		require.NotNil(t, got.Matched, what)
		require.Equal(t, lines, *got.Matched, "%s: the run's matches", what)
		require.Less(t, took, wait/2, "%s: answered well within the wait", what)
	}
	autoMatch("right after the upload")

	rec = b.do(req{method: "GET", path: runs, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	run := decode[map[string]any](t, rec)
	require.Equal(t, "completed", run["status"])
	require.EqualValues(t, lines, run["matched_count"])
	require.Equal(t, lines, matches(), "each match made once")

	// Asked again once the run has completed: the same answer, nothing twice.
	autoMatch("once the run completed")
	require.Equal(t, lines, matches())
}
