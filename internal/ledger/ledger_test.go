package ledger

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

type bundle struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	svc    *Service
	w      *Worker
	org    uuid.UUID
	ledger db.Ledger
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool := dbtest.Postgres(t)
	rdb, _ := dbtest.Redis(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	o, err := db.New(pool).CreateOrganization(ctx, "Acme")
	require.NoError(t, err)
	svc := New(pool)
	l, err := svc.CreateLedger(ctx, o.ID, LedgerInput{Name: "books", Metadata: []byte("{}")}, nil)
	require.NoError(t, err)
	_, err = svc.CreateAccount(ctx, o.ID, l.ID, AccountInput{Name: "Bank", Code: "1200", Currency: "EUR", NormalBalance: "debit"}, nil)
	require.NoError(t, err)
	return &bundle{pool: pool, rdb: rdb, svc: svc, w: NewWorker(pool, rdb, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(rdb)), log), org: o.ID, ledger: l}
}

func (b *bundle) book(t *testing.T, entries ...EntryInput) {
	t.Helper()
	_, err := b.svc.AddEntries(context.Background(), b.org, b.ledger.ID, entries, nil)
	require.NoError(t, err)
}

func entry(id, direction, amount, day string, ref string) EntryInput {
	d, _ := time.Parse(time.DateOnly, day)
	e := EntryInput{Account: "1200", Direction: direction, Amount: decimal.RequireFromString(amount), Currency: "EUR", BookingDate: d, ExternalID: id}
	if ref != "" {
		e.Reference = &ref
	}
	return e
}

func (b *bundle) run(t *testing.T, mode string) db.LedgerRun {
	t.Helper()
	key := uuid.NewString()
	rc, err := b.svc.CreateRun(context.Background(), b.org, RunInput{LedgerID: b.ledger.ID, Mode: mode, SourceType: "upload",
		IdempotencyKey: &key, WindowDays: 3, CreatedBy: "test"}, nil)
	require.NoError(t, err)
	require.True(t, rc.Created)
	return rc.Run
}

// upload stores a file and runs the parse task as the worker would.
func (b *bundle) upload(t *testing.T, r db.LedgerRun, name, format string, content []byte) db.LedgerRunSource {
	t.Helper()
	ctx := context.Background()
	sub, err := b.svc.SubmitSource(ctx, b.org, SourceUpload{RunID: r.ID, FileName: name, Format: format, Content: content, CreatedBy: "test"}, nil)
	require.NoError(t, err)
	require.NoError(t, b.w.ParseSource(ctx, Task{OrganizationID: b.org, RunID: r.ID, SourceID: sub.Source.ID}, sub.Job.ID))
	src, err := b.svc.GetSource(ctx, b.org, r.ID, sub.Source.ID)
	require.NoError(t, err)
	return src
}

func (b *bundle) autoMatch(t *testing.T, r db.LedgerRun) db.LedgerRun {
	t.Helper()
	job := NewAutoMatchJob(r, "")
	require.NoError(t, b.w.AutoMatch(context.Background(), Task{OrganizationID: b.org, RunID: r.ID}, job.ID))
	got, err := b.svc.GetRun(context.Background(), b.org, r.ID)
	require.NoError(t, err)
	return got
}

func (b *bundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

const statementCSV = "booking_date,amount,currency,reference\n" +
	"2026-03-02,100.00,EUR,INV-1001\n" +
	"2026-03-02,-40.50,EUR,\n" +
	"2026-03-03,75.25,EUR,INV-1003\n"

// An automatic run: the parsed upload queues auto-match by itself, and
// confident matches come out accepted. Auto-matching again adds nothing
// and keeps reviewed discrepancies.
func TestAutomaticRunMatchesAfterUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.book(t, entry("A", "debit", "100", "2026-03-02", "INV-1001"), entry("B", "credit", "40.50", "2026-03-02", ""),
		entry("C", "debit", "9.99", "2026-03-02", "STRAY"))
	r := b.run(t, ModeAutomatic)
	src := b.upload(t, r, "march.csv", "csv", []byte(statementCSV))
	require.Equal(t, "processed", src.Status)
	require.EqualValues(t, 3, src.Imported)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM task_outbox WHERE task_type = $1`, TypeAutoMatch), "the upload queued auto-match")

	done := b.autoMatch(t, r)
	require.Equal(t, RunCompleted, done.Status)
	require.EqualValues(t, 2, done.MatchedCount)
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM ledger_matches WHERE run_id = $1 AND status = 'accepted'`, r.ID), "same-day reference and amount matches are confident")
	disc, err := b.svc.Discrepancies(ctx, b.org, r.ID, DiscrepancyFilter{}, 50, 0)
	require.NoError(t, err)
	types := map[string]db.LedgerDiscrepancy{}
	for _, d := range disc.Rows {
		types[d.Type] = d
	}
	require.Contains(t, types, "missing_in_ledger", "75.25 INV-1003 has no GL entry")
	require.Contains(t, types, "missing_in_statement", "C is not on the statement")

	inReview := "in_review"
	_, err = b.svc.UpdateDiscrepancy(ctx, b.org, types["missing_in_ledger"].ID, DiscrepancyUpdate{Status: &inReview, Actor: "test"})
	require.NoError(t, err)
	again := b.autoMatch(t, done)
	require.EqualValues(t, 2, again.MatchedCount, "nothing new, nothing twice")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, r.ID))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM ledger_discrepancies WHERE run_id = $1 AND type = 'missing_in_ledger'`, r.ID))
	require.Equal(t, "in_review", b.countStatus(t, types["missing_in_ledger"].ID), "the reviewed one was kept")
}

func (b *bundle) countStatus(t *testing.T, id uuid.UUID) string {
	t.Helper()
	var s string
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT status FROM ledger_discrepancies WHERE id = $1`, id).Scan(&s))
	return s
}

// A file that breaks mid-way fails its source with the position and
// stores none of its lines: never a half-read statement.
func TestMalformedStatementFailsTheSource(t *testing.T) {
	t.Parallel()
	b := setup(t)
	content, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "statements", "camt053", "camt_parser__valid_example.xml"))
	require.NoError(t, err)
	r := b.run(t, ModeManual)
	src := b.upload(t, r, "cut.xml", "camt.053", content[:len(content)*2/3])
	require.Equal(t, "failed", src.Status)
	require.NotNil(t, src.Error)
	require.Contains(t, *src.Error, "line ")
	require.Zero(t, b.count(t, `SELECT count(*) FROM ledger_run_items WHERE run_id = $1`, r.ID))

	src = b.upload(t, r, "bad.csv", "csv", []byte("booking_date,amount,currency\n2026-13-45,1.00,EUR\n2026-03-02,abc,EUR\n2026-03-02,5.00,EUR\n"))
	require.Equal(t, "processed", src.Status, "bad lines are skipped and counted, good ones stored")
	require.EqualValues(t, 1, src.Imported)
	var sums []struct {
		Lines, Skipped int
		Problems       []string
	}
	require.NoError(t, json.Unmarshal(src.Statements, &sums))
	require.Len(t, sums, 1)
	require.Equal(t, 1, sums[0].Lines)
	require.Equal(t, 2, sums[0].Skipped)
	require.Equal(t, `line 2, column "booking_date" (bookingDate): "2026-13-45" is not a date in the format YYYY-MM-DD`, sums[0].Problems[0])
}

// Deleting a source removes its lines and the matches holding them (their
// GL entries are free again); deleting a run releases its matches and its
// idempotency key.
func TestDeletingSourcesAndRunsReleasesEntries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.book(t, entry("A", "debit", "100", "2026-03-02", "INV-1001"), entry("B", "credit", "40.50", "2026-03-02", ""))
	r := b.run(t, ModeManual)
	src := b.upload(t, r, "march.csv", "csv", []byte(statementCSV))
	require.EqualValues(t, 2, b.autoMatch(t, r).MatchedCount)
	free := func(runID uuid.UUID) int64 {
		pg, err := b.svc.GLEntries(ctx, b.org, runID, true, 50, 0)
		require.NoError(t, err)
		return pg.Total
	}
	require.Zero(t, free(r.ID))

	_, err := b.svc.DeleteSource(ctx, b.org, r.ID, src.ID, "test")
	require.NoError(t, err)
	require.EqualValues(t, 2, free(r.ID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM ledger_run_items WHERE run_id = $1`, r.ID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM ledger_match_members WHERE run_id = $1`, r.ID))
	got, err := b.svc.GetRun(ctx, b.org, r.ID)
	require.NoError(t, err)
	require.Zero(t, got.MatchedCount)

	b.upload(t, r, "march.csv", "csv", []byte(statementCSV))
	b.autoMatch(t, r)
	_, purge, err := b.svc.DeleteRun(ctx, b.org, r.ID, "test")
	require.NoError(t, err)
	other := b.run(t, ModeManual)
	require.EqualValues(t, 2, free(other.ID), "a deleted run's matches hold nothing")
	_, err = b.svc.GetRun(ctx, b.org, r.ID)
	require.ErrorIs(t, err, ErrRunNotFound)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM task_outbox WHERE task_id = $1`, purge.ID))

	// The purge removes the deleted run's rows, and nothing of a live one.
	b.upload(t, other, "march.csv", "csv", []byte(statementCSV))
	b.autoMatch(t, other)
	require.NoError(t, b.w.Purge(ctx, Task{OrganizationID: b.org, RunID: other.ID}, "purge-live"), "a live run")
	require.NoError(t, b.w.Purge(ctx, Task{OrganizationID: b.org, RunID: r.ID}, purge.ID))
	for _, table := range []string{"ledger_run_items", "ledger_matches", "ledger_discrepancies", "ledger_run_sources"} {
		require.Zero(t, b.count(t, `SELECT count(*) FROM `+table+` WHERE run_id = $1`, r.ID), table)
		require.NotZero(t, b.count(t, `SELECT count(*) FROM `+table+` WHERE run_id = $1`, other.ID), table)
	}
	require.Zero(t, b.count(t, `SELECT count(*) FROM ledger_match_members WHERE run_id = $1`, r.ID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM task_outbox WHERE task_id = $1`, purge.ID))

	key := *r.IdempotencyKey
	again, err := b.svc.CreateRun(ctx, b.org, RunInput{LedgerID: b.ledger.ID, Mode: ModeManual, SourceType: "upload",
		IdempotencyKey: &key, WindowDays: 3, CreatedBy: "test"}, nil)
	require.NoError(t, err)
	require.True(t, again.Created, "the deleted run's key is free")
	require.NotEqual(t, r.ID, again.Run.ID)
	same, err := b.svc.CreateRun(ctx, b.org, RunInput{LedgerID: b.ledger.ID, Mode: ModeManual, SourceType: "upload",
		IdempotencyKey: &key, WindowDays: 3, CreatedBy: "test"}, nil)
	require.NoError(t, err)
	require.False(t, same.Created, "the same key again is the same run")
	require.Equal(t, again.Run.ID, same.Run.ID)
}

func TestMinorUnits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		amount, currency string
		positive         bool
		want             int64
	}{
		{"100", "EUR", true, 10000}, {"100.5", "EUR", true, 10050}, {"0.01", "EUR", false, -1}, {"2.00", "EUR", true, 200},
		{"1.005", "EUR", true, 101}, {"12", "JPY", true, 12}, {"1.5", "JPY", true, 2}, {"0.123456", "USDC", true, 123456},
		{"92233720368547758.07", "EUR", true, 9223372036854775807},
	} {
		got, err := minorUnits(c.amount, c.currency, c.positive)
		require.NoError(t, err, c.amount)
		require.Equal(t, c.want, got, "%s %s", c.amount, c.currency)
	}
	_, err := minorUnits("123456789012345678.12", "EUR", true)
	require.Error(t, err, "beyond int64 minor units")
}

// One auto-match of a run at a time: a second one while the first runs
// waits for it, and past its wait is refused with ErrRunBusy (its task is
// retried), unless the first has not been heard of for the task timeout
// (its worker died).
func TestAutoMatchIsOnePerRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.w.BusyWait = 200 * time.Millisecond
	ctx := context.Background()
	b.book(t, entry("A", "debit", "100", "2026-03-02", "INV-1001"))
	r := b.run(t, ModeManual)
	b.upload(t, r, "march.csv", "csv", []byte(statementCSV))
	_, err := b.pool.Exec(ctx, `UPDATE ledger_runs SET status = 'running', updated_at = now() WHERE id = $1`, r.ID)
	require.NoError(t, err)
	job := NewAutoMatchJob(r, "")
	err = b.w.AutoMatch(ctx, Task{OrganizationID: b.org, RunID: r.ID}, job.ID)
	require.ErrorIs(t, err, ErrRunBusy)
	require.Zero(t, b.count(t, `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, r.ID))

	_, err = b.pool.Exec(ctx, `UPDATE ledger_runs SET updated_at = now() - interval '31 minutes' WHERE id = $1`, r.ID)
	require.NoError(t, err)
	require.NoError(t, b.w.AutoMatch(ctx, Task{OrganizationID: b.org, RunID: r.ID}, job.ID))
	got, err := b.svc.GetRun(ctx, b.org, r.ID)
	require.NoError(t, err)
	require.Equal(t, RunCompleted, got.Status)
	require.EqualValues(t, 1, got.MatchedCount)

	_, err = b.svc.UpdateRun(ctx, b.org, r.ID, RunUpdate{Close: true, Actor: "test"})
	require.NoError(t, err)
	require.NoError(t, b.w.AutoMatch(ctx, Task{OrganizationID: b.org, RunID: r.ID}, NewAutoMatchJob(r, "").ID), "a closed run is skipped")
}

// A task that finds the run's auto-match under way — the one an upload to
// an automatic run started — waits for it instead of failing into a
// retry's backoff, then runs its own pass over what is left: nothing is
// matched twice, and its outcome is the run's, with the run's matches.
func TestAutoMatchWaitsForTheRunsRunningAutoMatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waiter := tasks.NewWaiter(b.rdb, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	go waiter.Run(ctx)
	require.Eventually(t, waiter.Ready, 10*time.Second, 10*time.Millisecond)

	b.book(t, entry("A", "debit", "100", "2026-03-02", "INV-1001"), entry("B", "credit", "40.50", "2026-03-02", ""))
	r := b.run(t, ModeAutomatic)
	b.upload(t, r, "march.csv", "csv", []byte(statementCSV))
	var own string // the auto-match the upload queued
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT task_id FROM task_outbox WHERE task_type = $1`, TypeAutoMatch).Scan(&own))
	// It has taken the run, as a worker would have.
	_, err := db.New(b.pool).StartLedgerRunMatch(ctx, db.StartLedgerRunMatchParams{ID: r.ID, TaskID: own, StaleSeconds: 1800})
	require.NoError(t, err)

	asked := NewAutoMatchJob(r, "")
	channel, outcome, stop := waiter.Register(asked.ID)
	defer stop()
	returned := make(chan error, 1)
	go func() {
		returned <- b.w.AutoMatch(ctx, Task{OrganizationID: b.org, RunID: r.ID, Notify: channel}, asked.ID)
	}()
	select {
	case err := <-returned:
		t.Fatalf("the request did not wait for the run's auto-match: %v", err)
	case <-time.After(300 * time.Millisecond):
	}

	require.NoError(t, b.w.AutoMatch(ctx, Task{OrganizationID: b.org, RunID: r.ID}, own))
	select {
	case err := <-returned:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not run once the run was free")
	}
	var got AutoMatchOutcome
	select {
	case msg := <-outcome:
		require.NoError(t, json.Unmarshal(msg, &got))
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome")
	}
	require.Equal(t, AutoMatchOutcome{Status: RunCompleted, Matched: 2}, got, "the run's matches, made by its own auto-match")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, r.ID), "none twice")
	run, err := b.svc.GetRun(ctx, b.org, r.ID)
	require.NoError(t, err)
	require.Equal(t, RunCompleted, run.Status)
	require.EqualValues(t, 2, run.MatchedCount)
	require.Zero(t, b.count(t, `SELECT count(*) FROM task_outbox WHERE task_type = $1`, TypeAutoMatch), "both tasks done")
}
