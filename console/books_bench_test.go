package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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

	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// BenchmarkBooksPages renders the Imports, Ledger runs and Expected
// payments pages over large data, end to end through the router with a
// signed-in session: a batch of 100,000 rows (one in ten invalid) parsed by
// the worker, a run of 20,000 statement lines auto-matched to 20,000 GL
// entries, and 100,000 expected payments. First and deep pages of each
// table; the budget is 200 ms of server time a page. Run it with
// go test -run '^$' -bench BooksPages -benchtime 10x ./console/
func BenchmarkBooksPages(b *testing.B) {
	bd := setup(b)
	org := bd.org("Big")
	bd.user(org, "ops@big.example", password)
	ctx := context.Background()

	var csv strings.Builder
	csv.WriteString("date,amount,currency,reference,name\n")
	for i := range 100_000 {
		amount := fmt.Sprintf("%d.%02d", i%5000, i%100)
		if i%10 == 3 {
			amount = "12.3x"
		}
		fmt.Fprintf(&csv, "2026-11-%02d,%s,EUR,REF-%d,Customer %d\n", 1+i%28, amount, i, i%977)
	}
	batch := bd.importFile(org, "big.csv", []byte(csv.String()), true)
	for i := range 30 {
		bd.importBatch(org, fmt.Sprintf("old-%02d.csv", i), "completed", "")
	}

	run := bigRun(b, bd, org, 20_000)

	usd := bd.internalAccount(org, "Operating USD", "USD")
	_, err := bd.pool.Exec(ctx, `
INSERT INTO expected_payments (organization_id, direction, currency, amount_lower_bound, amount_upper_bound, internal_account_id,
    description, status, amount_reconciled, created_at)
SELECT $1, (ARRAY['credit', 'debit'])[1 + g % 2], 'USD', 1000 * (g % 900), 1000 * (g % 900) + 500, $2,
    'Invoice ' || g, (ARRAY['unreconciled', 'partially_reconciled', 'reconciled', 'archived'])[1 + g % 4],
    CASE WHEN g % 4 = 2 THEN 1000 * (g % 900) ELSE 0 END, now() - g * interval '1 second'
FROM generate_series(1, 100000) g`, org, usd.ID)
	require.NoError(b, err)
	var payment, deepPayment string
	require.NoError(b, bd.pool.QueryRow(ctx, `SELECT id FROM expected_payments WHERE organization_id = $1 AND description = 'Invoice 50000'`, org).Scan(&payment))
	var at time.Time
	require.NoError(b, bd.pool.QueryRow(ctx, `SELECT created_at, id FROM expected_payments WHERE organization_id = $1 AND status = 'reconciled'
ORDER BY created_at DESC, id DESC OFFSET 24000 LIMIT 1`, org).Scan(&at, &deepPayment))
	_, err = bd.pool.Exec(ctx, "VACUUM ANALYZE raw_records, import_batches, ledger_run_items, ledger_matches, ledger_match_members, ledger_discrepancies, expected_payments, transactions")
	require.NoError(b, err)

	c := bd.client()
	c.mustSignIn("ops@big.example", password)
	batchPath := "/console/imports/" + batch.ID.String()
	runPath := "/console/ledger-runs/" + run.String()
	for _, bc := range []struct{ name, path, want string }{
		{"imports/list", "/console/imports", "31 batches"},
		{"imports/batch", batchPath, "100,000 rows, in file order"},
		{"imports/batch/deep", batchPath + "?cursor=95000", "after row 95000"},
		{"imports/batch/invalid/deep", batchPath + "?validationStatus=invalid&cursor=95000", "10,000 invalid rows"},
		{"runs/list", "/console/ledger-runs", "1 run"},
		{"runs/run", runPath, "Matches 1 to 50 of 20,000"},
		{"runs/run/deep", runPath + "?matches_offset=19950&items_offset=19950", "Matches 19951 to 20000 of 20,000"},
		{"expected/list", "/console/expected-payments", "Expected payments, newest first"},
		{"expected/list/deep/reconciled", "/console/expected-payments?status=reconciled&cursor=" + cursorOf(at, deepPayment), "(continued)"},
		{"expected/payment", "/console/expected-payments/" + payment, "Invoice 50000"},
	} {
		p := c.get(bc.path)
		require.Equal(b, http.StatusOK, p.Status, bc.name)
		require.Contains(b, p.Body, bc.want, bc.name)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if p := c.get(bc.path); p.Status != http.StatusOK {
					b.Fatal(p.Status)
				}
			}
		})
	}
}

// bigRun makes a manual run of n statement lines against n GL entries of a
// new ledger, auto-matched by the worker: n suggested matches.
func bigRun(t testing.TB, bd *bundle, org uuid.UUID, n int) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	svc := ledger.New(bd.pool)
	l, err := svc.CreateLedger(ctx, org, ledger.LedgerInput{Name: "Big books", Metadata: []byte("{}")}, nil)
	require.NoError(t, err)
	_, err = svc.CreateAccount(ctx, org, l.ID, ledger.AccountInput{Name: "Bank", Code: "1200", Currency: "EUR", NormalBalance: "debit"}, nil)
	require.NoError(t, err)
	var stmt strings.Builder
	stmt.WriteString("booking_date,amount,currency,reference\n")
	entries := make([]ledger.EntryInput, 0, ledger.MaxEntries)
	for i := range n {
		ref := fmt.Sprintf("INV-%d", i)
		day := time.Date(2026, 3, 1+i%28, 0, 0, 0, 0, time.UTC)
		amount := decimal.New(int64(1000+i), -2)
		entries = append(entries, ledger.EntryInput{Account: "1200", Direction: "debit", Amount: amount, Currency: "EUR",
			BookingDate: day, ExternalID: ref, Reference: &ref})
		fmt.Fprintf(&stmt, "%s,%s,EUR,%s\n", day.Format(time.DateOnly), amount.StringFixed(2), ref)
		if len(entries) == ledger.MaxEntries || i == n-1 {
			_, err = svc.AddEntries(ctx, org, l.ID, entries, nil)
			require.NoError(t, err)
			entries = entries[:0]
		}
	}
	key := uuid.NewString()
	rc, err := svc.CreateRun(ctx, org, ledger.RunInput{LedgerID: l.ID, Mode: ledger.ModeManual, SourceType: "upload", IdempotencyKey: &key,
		WindowDays: 3, CreatedBy: "test"}, nil)
	require.NoError(t, err)
	sub, err := svc.SubmitSource(ctx, org, ledger.SourceUpload{RunID: rc.Run.ID, FileName: "big.csv", Format: "csv",
		Content: []byte(stmt.String()), CreatedBy: "test"}, nil)
	require.NoError(t, err)
	w := ledger.NewWorker(bd.pool, bd.rdb, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(bd.rdb)), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	require.NoError(t, w.ParseSource(ctx, ledger.Task{OrganizationID: org, RunID: rc.Run.ID, SourceID: sub.Source.ID}, sub.Job.ID))
	require.NoError(t, w.AutoMatch(ctx, ledger.Task{OrganizationID: org, RunID: rc.Run.ID}, ledger.NewAutoMatchJob(rc.Run, "").ID))
	return rc.Run.ID
}

// cursorOf is a list's keyset cursor after the row (at, id), as the
// console's "older" links carry it.
func cursorOf(at time.Time, id string) string {
	raw, _ := json.Marshal(map[string]any{"t": at, "id": id})
	return url.QueryEscape(base64.RawURLEncoding.EncodeToString(raw))
}
