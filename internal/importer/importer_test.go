package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

type bundle struct {
	pool *pgxpool.Pool
	q    *db.Queries
	svc  *Service
	w    *Worker
	org  uuid.UUID
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool := dbtest.Postgres(t)
	rdb, _ := dbtest.Redis(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	m := matcher.New(pool)
	w := NewWorker(pool, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(rdb)), func(ctx context.Context, ids []uuid.UUID) error {
		_, err := m.ProcessMany(ctx, ids)
		return err
	}, log)
	w.Metrics = metrics.New().Imports
	q := db.New(pool)
	o, err := q.CreateOrganization(context.Background(), "Acme")
	require.NoError(t, err)
	return &bundle{pool: pool, q: q, svc: New(pool, log), w: w, org: o.ID}
}

func fixture(t *testing.T, format, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "statements", format, name))
	require.NoError(t, err)
	return b
}

// csvProfile reads "date,amount,currency,reference,name" files.
func (b *bundle) csvProfile(t *testing.T) uuid.UUID {
	t.Helper()
	header := true
	p, err := b.svc.CreateProfile(context.Background(), b.org, ProfileInput{Name: "bank csv", RecordType: RecordBankStatement,
		Settings: statement.Profile{HeaderRow: &header, DateFormat: "YYYY-MM-DD", DecimalSeparator: ".", Fields: []statement.FieldMapping{
			{Column: "date", Path: "bookingDate"}, {Column: "amount", Path: "amount"}, {Column: "currency", Path: "currency"},
			{Column: "reference", Path: "bankReference"}, {Column: "name", Path: "counterpartyName"},
		}}}, nil)
	require.NoError(t, err)
	return p.ID
}

func (b *bundle) submit(t *testing.T, u Upload) Submitted {
	t.Helper()
	u.OrganizationID, u.CreatedBy = b.org, "test"
	if u.FileName == "" {
		u.FileName = "statement"
	}
	s, err := b.svc.Submit(context.Background(), u, nil)
	require.NoError(t, err)
	return s
}

// A camt.053 with a batch entry: every transaction a row, valid, in file
// order; the statement's balances check out; the batch completes with its
// event and its match task, and the matcher then takes every row.
func TestParseCAMTFileIntoRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sub := b.submit(t, Upload{Content: fixture(t, "camt053", "camt_parser__valid_example.xml"), FileName: "valid_example.xml"})
	require.False(t, sub.Duplicate)
	require.Equal(t, "camt.053", sub.Batch.Format, "recognized from the content")
	require.Equal(t, StatusQueued, sub.Batch.Status)

	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, batch.Status, "%v", batch.Error)
	require.EqualValues(t, 5, batch.TotalRows, "4 entries, one of them a batch of 2 transactions")
	require.EqualValues(t, 5, batch.ValidRows)
	require.Zero(t, batch.InvalidRows)
	var summaries []struct {
		Reconciles *bool `json:"reconciles"`
	}
	require.NoError(t, json.Unmarshal(batch.Statements, &summaries))
	require.Len(t, summaries, 1)
	require.NotNil(t, summaries[0].Reconciles)
	require.True(t, *summaries[0].Reconciles, "opening + entries = closing")

	rows, total, err := b.svc.Rows(ctx, b.org, batch.ID, nil, 0, 100, 0)
	require.NoError(t, err)
	require.EqualValues(t, 5, total)
	for i, r := range rows {
		require.EqualValues(t, i+1, *r.RowNumber)
		require.Equal(t, "bank", r.Source)
		require.Equal(t, "valid", *r.ValidationStatus)
		require.Equal(t, "queued", r.MatchStatus)
	}

	var events, outbox int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE event_type = 'import_batch.completed'`).Scan(&events))
	require.Equal(t, 1, events)
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM task_outbox WHERE task_id = $1`, NewMatchJob(batch).ID).Scan(&outbox))
	require.Equal(t, 1, outbox, "the match task is recorded with the completion")

	require.NoError(t, b.w.Match(ctx, batch.ID, NewMatchJob(batch).ID))
	queued, err := b.q.QueuedImportRows(ctx, db.QueuedImportRowsParams{BatchID: &batch.ID, Lim: 10})
	require.NoError(t, err)
	require.Empty(t, queued, "every row went through the matcher")

	// The same file again is the same batch.
	again := b.submit(t, Upload{Content: fixture(t, "camt053", "camt_parser__valid_example.xml"), FileName: "copy.xml"})
	require.True(t, again.Duplicate)
	require.Equal(t, batch.ID, again.Batch.ID)
	require.Nil(t, again.Job)
}

// Invalid rows are kept, with their line and reasons, and never matched.
func TestParseCSVKeepsInvalidRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	profile := b.csvProfile(t)
	content := "date,amount,currency,reference,name\n" +
		"2026-11-01,100.00,EUR,REF-1,Alice\n" +
		"2026-11-02,12.3x,EUR,REF-2,Bob\n" +
		"2026-11-03,-40.50,EUR,REF-3,Carol\n" +
		"2026-13-45,5.00,EUR,REF-4,Dave\n"
	sub := b.submit(t, Upload{ProfileID: &profile, Content: []byte(content), FileName: "bank.csv"})
	require.Equal(t, "csv", sub.Batch.Format)
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, batch.Status, "%v", batch.Error)
	require.EqualValues(t, 4, batch.TotalRows)
	require.EqualValues(t, 2, batch.ValidRows)
	require.EqualValues(t, 2, batch.InvalidRows)
	require.Equal(t, 1.0, testutil.ToFloat64(b.w.Metrics.Batches.WithLabelValues("csv", "completed")))
	require.Equal(t, 2.0, testutil.ToFloat64(b.w.Metrics.Rows.WithLabelValues("csv", "valid")))
	require.Equal(t, 2.0, testutil.ToFloat64(b.w.Metrics.Rows.WithLabelValues("csv", "invalid")))

	invalid := "invalid"
	rows, total, err := b.svc.Rows(ctx, b.org, batch.ID, &invalid, 0, 100, 0)
	require.NoError(t, err)
	require.EqualValues(t, 2, total)
	require.EqualValues(t, 3, *rows[0].RowNumber, "a CSV row is numbered by its line; the header is row 1")
	require.Contains(t, string(rows[0].ValidationErrors), "line 3")
	require.Contains(t, string(rows[0].ValidationErrors), "12.3x")
	require.Equal(t, "invalid", rows[0].MatchStatus)
	require.EqualValues(t, 5, *rows[1].RowNumber)
	require.Contains(t, string(rows[1].ValidationErrors), "2026-13-45")

	valid := "valid"
	rows, _, err = b.svc.Rows(ctx, b.org, batch.ID, &valid, 0, 100, 0)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	var bank struct {
		Direction string            `json:"direction"`
		Amount    map[string]string `json:"amount"`
		Reference string            `json:"bankReference"`
	}
	require.NoError(t, json.Unmarshal(rows[1].Payload, &bank))
	require.Equal(t, "debit", bank.Direction, "a negative amount is a debit")
	require.Equal(t, map[string]string{"amount": "40.5", "currency": "EUR"}, bank.Amount)
	require.Equal(t, "REF-3", bank.Reference)
}

// A file that cannot be read fails its batch with the position, and is
// never completed.
func TestMalformedFileFailsBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	whole := fixture(t, "camt053", "camt_parser__valid_example.xml")
	truncated := whole[:len(whole)*2/3]
	sub := b.submit(t, Upload{Content: truncated, Format: "camt.053"})
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusFailed, batch.Status)
	require.NotNil(t, batch.Error)
	require.Contains(t, *batch.Error, "line ")
	// Rows read before the break are kept, invalid, saying why.
	require.Positive(t, batch.TotalRows)
	require.Zero(t, batch.ValidRows)
	require.Equal(t, batch.TotalRows, batch.InvalidRows)
	rows, _, err := b.svc.Rows(ctx, b.org, batch.ID, nil, 0, 100, 0)
	require.NoError(t, err)
	for _, r := range rows {
		require.Equal(t, "invalid", *r.ValidationStatus)
		require.Equal(t, "invalid", r.MatchStatus)
		require.Contains(t, string(r.ValidationErrors), "The batch failed")
	}
	var events int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE event_type = 'import_batch.failed'`).Scan(&events))
	require.Equal(t, 1, events)
	// A redelivered task changes nothing.
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	again, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, batch.TotalRows, again.TotalRows)
	require.Equal(t, StatusFailed, again.Status)
	require.Equal(t, 1.0, testutil.ToFloat64(b.w.Metrics.Batches.WithLabelValues(sub.Batch.Format, "failed")), "counted once")
	require.Equal(t, float64(batch.TotalRows), testutil.ToFloat64(b.w.Metrics.Rows.WithLabelValues(sub.Batch.Format, "invalid")))
}

// A worker that dies mid-file leaves whole chunks behind; the next run
// stores the rest, without a duplicate row.
func TestParseResumesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	profile := b.csvProfile(t)
	var sb strings.Builder
	sb.WriteString("date,amount,currency,reference,name\n")
	const n = 2500
	for i := range n {
		fmt.Fprintf(&sb, "2026-11-01,%d.00,EUR,REF-%d,Customer %d\n", i+1, i, i)
	}
	sub := b.submit(t, Upload{ProfileID: &profile, Content: []byte(sb.String())})
	b.w.Chunk = 1000
	crash := errors.New("worker killed")
	var chunks atomic.Int32 // writers call it from their own goroutines
	b.w.afterChunk = func() error {
		if chunks.Add(1) == 2 {
			return crash
		}
		return nil
	}
	require.ErrorIs(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID), crash)
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusProcessing, batch.Status)
	// Chunks commit in file order; with several writers the last one
	// (500 rows) may have committed before the crash stopped the rest.
	require.Contains(t, []int32{2000, 2500}, batch.TotalRows, "whole chunks stored before the crash")
	var stored int32
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM raw_records WHERE import_batch_id = $1`, batch.ID).Scan(&stored))
	require.Equal(t, batch.TotalRows, stored, "the count covers exactly the rows stored")

	b.w.afterChunk = nil
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err = b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, batch.Status)
	require.EqualValues(t, n, batch.TotalRows)
	require.EqualValues(t, n, batch.ValidRows)
	var rows, distinct int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT row_number) FROM raw_records WHERE import_batch_id = $1`,
		batch.ID).Scan(&rows, &distinct))
	require.Equal(t, n, rows)
	require.Equal(t, n, distinct)
	var summaries []struct {
		Entries int    `json:"entries"`
		Credits string `json:"credits"`
	}
	require.NoError(t, json.Unmarshal(batch.Statements, &summaries))
	require.Len(t, summaries, 1)
	require.Equal(t, n, summaries[0].Entries, "the summary counts the rows of both runs")
	require.Equal(t, "3126250", summaries[0].Credits, "1 + 2 + … + 2500")
}

// What cannot be imported as asked is refused at once, naming the field.
func TestSubmitRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var input *InputError
	_, err := b.svc.Submit(ctx, Upload{OrganizationID: b.org, Content: []byte("a,b\n1,2\n"), FileName: "x.csv", CreatedBy: "test"}, nil)
	require.ErrorAs(t, err, &input)
	require.Equal(t, "format", input.Field)
	_, err = b.svc.Submit(ctx, Upload{OrganizationID: b.org, Content: []byte("a,b\n1,2\n"), Format: "csv", FileName: "x.csv", CreatedBy: "test"}, nil)
	require.ErrorAs(t, err, &input)
	require.Equal(t, "importProfileId", input.Field)
	missing := uuid.New()
	_, err = b.svc.Submit(ctx, Upload{OrganizationID: b.org, ProfileID: &missing, Content: []byte("a,b\n"), FileName: "x.csv", CreatedBy: "test"}, nil)
	require.ErrorIs(t, err, ErrProfileNotFound)
}

// A file whose stated control totals its entries do not add up to fails
// (with where), unless the upload accepts such mismatches: then it is read
// and the batch lists them as warnings.
func TestControlTotalMismatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	content := fixture(t, "bai2", "bsp-loader-bai2__multi_group_multi_account.bai")

	strict := b.submit(t, Upload{Content: content, FileName: "strict.bai"})
	require.Equal(t, "bai2", strict.Batch.Format)
	require.NoError(t, b.w.Parse(ctx, strict.Batch.ID, strict.Job.ID))
	failed, err := b.svc.GetBatch(ctx, b.org, strict.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusFailed, failed.Status)
	require.Contains(t, *failed.Error, "line 7")

	// The same bytes are a duplicate; a lenient upload is another file here.
	lenient := b.submit(t, Upload{Content: append(content, '\n'), FileName: "lenient.bai", AcceptControlMismatch: true})
	require.False(t, lenient.Duplicate)
	require.NoError(t, b.w.Parse(ctx, lenient.Batch.ID, lenient.Job.ID))
	done, err := b.svc.GetBatch(ctx, b.org, lenient.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, done.Status, "%v", done.Error)
	require.EqualValues(t, 6, done.TotalRows)
	var warnings []string
	require.NoError(t, json.Unmarshal(done.Warnings, &warnings))
	require.NotEmpty(t, warnings)
	require.Contains(t, warnings[0], "line 7")
}

// A line far too long fails the batch with its number rather than
// exhausting memory.
func TestOverlongLineFailsBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	profile := b.csvProfile(t)
	content := "date,amount,currency,reference,name\n2026-11-01,1.00,EUR,R-1,Alice\n2026-11-01,2.00,EUR,R-2," +
		strings.Repeat("x", 2<<20) + "\n"
	sub := b.submit(t, Upload{ProfileID: &profile, Content: []byte(content)})
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusFailed, batch.Status)
	require.Contains(t, *batch.Error, "line 3")
	require.Contains(t, *batch.Error, "1 MiB")
}
