package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// runStatementCSV is a bank statement of three lines: two the books have
// (INV-1001 100.00 and an unreferenced 40.50 out), one they lack (75.25).
const runStatementCSV = "booking_date,amount,currency,reference\n" +
	"2026-03-02,100.00,EUR,INV-1001\n" +
	"2026-03-02,-40.50,EUR,\n" +
	"2026-03-03,75.25,EUR,INV-1003\n"

// seededRun is a ledger run as runLedger leaves it: manual, auto-matched,
// with its matches and lines in the order the run's page lists them.
type seededRun struct {
	Run     db.LedgerRun
	Ledger  db.Ledger
	Matches []uuid.UUID // oldest first
	Items   []uuid.UUID // by row number
}

// runLedger books three GL entries in a new ledger of org (two the
// statement has, one stray), opens a manual run, uploads runStatementCSV
// to it and auto-matches it, running the worker's tasks as the worker
// would: two suggested matches, a line missing in the ledger, an entry
// missing in the statement.
func (b *bundle) runLedger(org uuid.UUID, name string) seededRun {
	b.t.Helper()
	ctx := context.Background()
	svc := ledger.New(b.pool)
	l, err := svc.CreateLedger(ctx, org, ledger.LedgerInput{Name: name, Metadata: []byte("{}")}, nil)
	require.NoError(b.t, err)
	_, err = svc.CreateAccount(ctx, org, l.ID, ledger.AccountInput{Name: "Bank", Code: "1200", Currency: "EUR", NormalBalance: "debit"}, nil)
	require.NoError(b.t, err)
	entry := func(id, direction, amount, ref string) ledger.EntryInput {
		e := ledger.EntryInput{Account: "1200", Direction: direction, Amount: decimal.RequireFromString(amount), Currency: "EUR",
			BookingDate: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), ExternalID: id}
		if ref != "" {
			e.Reference = &ref
		}
		return e
	}
	_, err = svc.AddEntries(ctx, org, l.ID, []ledger.EntryInput{entry("A", "debit", "100", "INV-1001"), entry("B", "credit", "40.50", ""),
		entry("C", "debit", "9.99", "STRAY")}, nil)
	require.NoError(b.t, err)
	key := uuid.NewString()
	rc, err := svc.CreateRun(ctx, org, ledger.RunInput{LedgerID: l.ID, Mode: ledger.ModeManual, SourceType: "upload", IdempotencyKey: &key,
		WindowDays: 3, CreatedBy: "test"}, nil)
	require.NoError(b.t, err)
	sub, err := svc.SubmitSource(ctx, org, ledger.SourceUpload{RunID: rc.Run.ID, FileName: "march.csv", Format: "csv",
		Content: []byte(runStatementCSV), CreatedBy: "test"}, nil)
	require.NoError(b.t, err)
	w := ledger.NewWorker(b.pool, b.rdb, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(b.rdb)), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	task := ledger.Task{OrganizationID: org, RunID: rc.Run.ID, SourceID: sub.Source.ID}
	require.NoError(b.t, w.ParseSource(ctx, task, sub.Job.ID))
	require.NoError(b.t, w.AutoMatch(ctx, ledger.Task{OrganizationID: org, RunID: rc.Run.ID}, ledger.NewAutoMatchJob(rc.Run, "").ID))
	r, err := svc.GetRun(ctx, org, rc.Run.ID)
	require.NoError(b.t, err)
	return seededRun{Run: r, Ledger: l,
		Matches: b.ids(`SELECT id FROM ledger_matches WHERE run_id = $1 ORDER BY created_at, id`, r.ID),
		Items:   b.ids(`SELECT id FROM ledger_run_items WHERE run_id = $1 ORDER BY booking_date, row_number, id`, r.ID)}
}

func (b *bundle) ids(query string, args ...any) []uuid.UUID {
	b.t.Helper()
	rows, err := b.pool.Query(context.Background(), query, args...)
	require.NoError(b.t, err)
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		require.NoError(b.t, rows.Scan(&id))
		out = append(out, id)
	}
	require.NoError(b.t, rows.Err())
	return out
}

// value reads one column of one row.
func (b *bundle) value(query string, args ...any) string {
	b.t.Helper()
	var v *string
	require.NoError(b.t, b.pool.QueryRow(context.Background(), query, args...).Scan(&v))
	if v == nil {
		return "<nil>"
	}
	return *v
}

func TestConsoleLedgerRunList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	books := b.runLedger(acme, "Operating books")
	second := b.runLedger(acme, "Payroll books")
	theirs := b.runLedger(other, "Their books")

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console/ledger-runs")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `<a href="/console/ledger-runs" aria-current="page">Ledger runs</a>`)
	require.Contains(t, p.Body, "<caption>2 runs, newest first</caption>")
	row := rowHTML(t, p, "run-"+books.Run.ID.String())
	require.Contains(t, row, "Operating books")
	require.Contains(t, row, "Manual")
	require.Contains(t, row, "Completed")
	require.Regexp(t, `(?s)run-`+second.Run.ID.String()+`.*run-`+books.Run.ID.String(), p.Body, "newest first")
	require.NotContains(t, p.Body, theirs.Run.ID.String())
	require.NotContains(t, p.Body, "Their books", "nor their ledger among the choices")
	require.Contains(t, p.Body, `<option value="`+books.Ledger.ID.String()+`">Operating books</option>`)

	p = c.get("/console/ledger-runs?ledger_id=" + second.Ledger.ID.String())
	requireHTML(t, p, http.StatusOK)
	require.Contains(t, p.Body, second.Run.ID.String())
	require.NotContains(t, p.Body, `id="run-`+books.Run.ID.String())
	require.Contains(t, p.Body, `<option value="`+second.Ledger.ID.String()+`" selected>Payroll books</option>`)
	p = c.get("/console/ledger-runs?status=closed")
	require.Equal(t, "No ledger run matches the filters.", p.text("no-runs"))
	p = c.get("/console/ledger-runs?status=completed&ledger_id=" + theirs.Ledger.ID.String())
	require.Equal(t, "No ledger run matches the filters.", p.text("no-runs"), "another organization's ledger has no run here")

	for _, bad := range []string{"?status=exploded", "?ledger_id=books", "?offset=-3"} {
		p = c.get("/console/ledger-runs" + bad)
		requireHTML(t, p, http.StatusBadRequest)
		require.Contains(t, p.Body, `id="error"`, bad)
	}
}

// A run's page shows its matches, lines and discrepancies; accepting,
// rejecting, closing and reopening change the run, audited as the user.
func TestConsoleLedgerRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	user, _ := b.user(acme, "ops@acme.example", password)
	actor := "user:" + user.ID.String()
	r := b.runLedger(acme, "Operating books")
	require.Len(t, r.Matches, 2)
	require.Len(t, r.Items, 3)
	theirs := b.runLedger(other, "Their books")
	path := "/console/ledger-runs/" + r.Run.ID.String()

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get(path)
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, "<h1>Run of Operating books</h1>")
	for id, want := range map[string]string{"run-status": "Completed", "count-matches": "2", "count-items": "3", "count-discrepancies": "2"} {
		require.Equal(t, want, p.text(id), id)
	}
	require.Contains(t, p.Body, "march.csv")
	first, second := r.Matches[0].String(), r.Matches[1].String()
	for _, m := range []string{first, second} {
		require.Equal(t, "Suggested", p.text("match-"+m+"-status"))
		require.Equal(t, "Accept", p.text("accept-"+m))
		require.Equal(t, "Reject", p.text("reject-"+m))
	}
	require.Contains(t, p.Body, `<caption>Matches 1 to 2 of 2, oldest first.`)
	require.Contains(t, p.Body, `<caption>Lines 1 to 3 of 3, by booking date.`)
	// Lines in a (suggested) match cannot be closed; the one alone can.
	unmatched := r.Items[2].String()
	require.Equal(t, "Unmatched", p.text("item-"+unmatched+"-status"))
	require.Equal(t, "Close", p.text("close-"+unmatched))
	require.Contains(t, p.Body, `<label for="reason-`+unmatched+`" class="visually-hidden">Reason for closing line 3</label>`)
	require.Equal(t, "Suggested match", p.text("item-"+r.Items[0].String()+"-status"))
	require.Empty(t, p.text("close-"+r.Items[0].String()))
	disc := p.Body[strings.Index(p.Body, `<table id="discrepancy-table">`):]
	require.Contains(t, disc, "Missing in ledger")
	require.Contains(t, disc, "Missing in statement")
	require.Contains(t, disc, "75.25 EUR")
	token := p.csrf()

	// Accept the first match.
	p = c.post(path+"/matches/"+first+"/accept", url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=match_accepted#matches", p.location())
	p = c.get(strings.TrimSuffix(p.location(), "#matches"))
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "Match accepted.", p.text("notice"))
	require.Equal(t, "Accepted", p.text("match-"+first+"-status"))
	require.Empty(t, p.text("accept-"+first), "accepted: nothing to accept")
	require.Equal(t, "Reject", p.text("reject-"+first))
	require.Equal(t, "accepted", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, r.Matches[0]))
	require.Equal(t, actor, b.value(`SELECT decided_by FROM ledger_matches WHERE id = $1`, r.Matches[0]))
	require.Equal(t, actor, b.value(`SELECT actor FROM audit_events WHERE ledger_run_id = $1 AND event_type = 'ledger_match.accepted'`, r.Run.ID))

	// Accepting it again is refused with the service's reason; nothing changes.
	p = c.post(path+"/matches/"+first+"/accept", url.Values{"csrf_token": {token}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot accept a match that is accepted.", p.text("error"))
	require.Equal(t, "Accepted", p.text("match-"+first+"-status"))
	require.Equal(t, "1", b.value(`SELECT count(*)::text FROM audit_events WHERE ledger_run_id = $1 AND event_type = 'ledger_match.accepted'`, r.Run.ID))

	// A line in an accepted match cannot be closed.
	p = c.post(path+"/items/"+r.Items[0].String()+"/close", url.Values{"csrf_token": {token}, "reason": {"bank_fee"}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot close a line that is matched.", p.text("error"))
	require.Equal(t, "<nil>", b.value(`SELECT closed_at::text FROM ledger_run_items WHERE id = $1`, r.Items[0]))

	// Reject the second: its line is free again.
	p = c.post(path+"/matches/"+second+"/reject", url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=match_rejected#matches", p.location())
	require.Equal(t, "rejected", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, r.Matches[1]))
	p = c.get(path)
	require.Equal(t, "Rejected", p.text("match-"+second+"-status"))
	require.Empty(t, p.text("reject-"+second))
	require.Equal(t, "Unmatched", p.text("item-"+r.Items[1].String()+"-status"))

	// Close the lone line: a reason is needed.
	p = c.post(path+"/items/"+unmatched+"/close", url.Values{"csrf_token": {token}, "reason": {"  "}})
	requireHTML(t, p, http.StatusBadRequest)
	require.Equal(t, "Give a reason for closing the line: 1 to 100 characters, such as bank_fee.", p.text("error"))
	require.Contains(t, p.Body, `id="reason-`+unmatched+`" name="reason" maxlength="100" required placeholder="Reason, e.g. bank_fee" aria-invalid="true" aria-describedby="error">`)
	require.Equal(t, "<nil>", b.value(`SELECT closed_at::text FROM ledger_run_items WHERE id = $1`, r.Items[2]))

	p = c.post(path+"/items/"+unmatched+"/close", url.Values{"csrf_token": {token}, "reason": {"bank_fee"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=item_closed#items", p.location())
	require.Equal(t, "bank_fee", b.value(`SELECT close_reason FROM ledger_run_items WHERE id = $1`, r.Items[2]))
	require.Equal(t, actor, b.value(`SELECT closed_by FROM ledger_run_items WHERE id = $1`, r.Items[2]))
	require.Equal(t, actor, b.value(`SELECT actor FROM audit_events WHERE ledger_run_id = $1 AND event_type = 'ledger_item.closed'`, r.Run.ID))
	p = c.get(path + "?notice=item_closed")
	require.Equal(t, "Line closed.", p.text("notice"))
	require.Equal(t, "Closed", p.text("item-"+unmatched+"-status"))
	require.Equal(t, "bank_fee", p.text("item-"+unmatched+"-reason"))
	require.Equal(t, "Reopen", p.text("reopen-"+unmatched))

	// Closing it twice is refused; reopening brings it back.
	p = c.post(path+"/items/"+unmatched+"/close", url.Values{"csrf_token": {token}, "reason": {"again"}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot close a line that is closed.", p.text("error"))
	p = c.post(path+"/items/"+unmatched+"/reopen", url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=item_reopened#items", p.location())
	require.Equal(t, "<nil>", b.value(`SELECT closed_at::text FROM ledger_run_items WHERE id = $1`, r.Items[2]))
	require.Equal(t, actor, b.value(`SELECT actor FROM audit_events WHERE ledger_run_id = $1 AND event_type = 'ledger_item.reopened'`, r.Run.ID))
	p = c.get(path)
	require.Equal(t, "Unmatched", p.text("item-"+unmatched+"-status"))
	p = c.post(path+"/items/"+unmatched+"/reopen", url.Values{"csrf_token": {token}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot reopen a line that is open.", p.text("error"))

	// Actions keep the pages of the run's tables the form was on.
	p = c.post(path+"/items/"+unmatched+"/close?items_offset=0&matches_offset=50", url.Values{"csrf_token": {token}, "reason": {"bank_fee"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?matches_offset=50&notice=item_closed#items", p.location())

	// Without the form's token: 403, nothing changes.
	p = c.post(path+"/matches/"+first+"/reject", url.Values{})
	requireHTML(t, p, http.StatusForbidden)
	p = c.post(path+"/items/"+unmatched+"/reopen", url.Values{"csrf_token": {strings.Repeat("A", 43)}})
	requireHTML(t, p, http.StatusForbidden)
	require.Equal(t, "accepted", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, r.Matches[0]))
	require.Equal(t, "bank_fee", b.value(`SELECT close_reason FROM ledger_run_items WHERE id = $1`, r.Items[2]))

	// Another organization's run, match or line is not found, through
	// either run's path; so is a match or line of another run.
	mine := b.runLedger(acme, "Other books of ours")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/console/ledger-runs/" + theirs.Run.ID.String()},
		{"GET", "/console/ledger-runs/" + uuid.NewString()},
		{"GET", "/console/ledger-runs/not-an-id"},
		{"POST", path + "/matches/" + theirs.Matches[0].String() + "/accept"},
		{"POST", "/console/ledger-runs/" + theirs.Run.ID.String() + "/matches/" + theirs.Matches[0].String() + "/accept"},
		{"POST", "/console/ledger-runs/" + theirs.Run.ID.String() + "/matches/" + first + "/reject"},
		{"POST", path + "/matches/" + mine.Matches[0].String() + "/accept"},
		{"POST", path + "/items/" + theirs.Items[2].String() + "/close"},
		{"POST", path + "/items/" + mine.Items[2].String() + "/close"},
		{"POST", "/console/ledger-runs/" + theirs.Run.ID.String() + "/items/" + theirs.Items[2].String() + "/close"},
	} {
		var p page
		if tc.method == "GET" {
			p = c.get(tc.path)
		} else {
			p = c.post(tc.path, url.Values{"csrf_token": {token}, "reason": {"bank_fee"}})
		}
		requireHTML(t, p, http.StatusNotFound)
		require.Equal(t, "Page not found", p.text("error-title"), tc.path)
		require.NotContains(t, p.Body, "Their books")
	}
	require.Equal(t, "suggested", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, theirs.Matches[0]))
	require.Equal(t, "suggested", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, mine.Matches[0]))
	require.Equal(t, "<nil>", b.value(`SELECT closed_at::text FROM ledger_run_items WHERE id = $1`, theirs.Items[2]))
	require.Equal(t, "<nil>", b.value(`SELECT closed_at::text FROM ledger_run_items WHERE id = $1`, mine.Items[2]))
	require.Equal(t, "accepted", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, r.Matches[0]))
}

// A closed run shows its work but offers no action, and refuses one.
func TestConsoleClosedLedgerRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme")
	b.user(acme, "ops@acme.example", password)
	r := b.runLedger(acme, "Operating books")
	_, err := ledger.New(b.pool).UpdateRun(context.Background(), acme, r.Run.ID, ledger.RunUpdate{Close: true, Actor: "test"})
	require.NoError(t, err)
	path := "/console/ledger-runs/" + r.Run.ID.String()

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get(path)
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "Closed", p.text("run-status"))
	require.Contains(t, p.text("run-closed"), "This run is closed")
	require.NotContains(t, p.Body, `id="accept-`)
	require.NotContains(t, p.Body, `id="close-`)
	p = c.post(path+"/matches/"+r.Matches[0].String()+"/accept", url.Values{"csrf_token": {p.csrf()}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot accept a match of a run that is closed.", p.text("error"))
	require.Equal(t, "suggested", b.value(`SELECT status FROM ledger_matches WHERE id = $1`, r.Matches[0]))
}
