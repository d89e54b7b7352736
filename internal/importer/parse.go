package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// Worker parses batches and matches their evidence.
type Worker struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	enq   *tasks.Enqueuer
	match MatchFunc
	// intents records the rows of client_internal_ledger batches.
	intents *intent.Service
	// expected records bank statement lines of internal accounts as
	// transactions.
	expected *expected.Service
	log      *slog.Logger
	// Chunk is how many rows are stored per transaction, and Writers
	// how many chunks are stored at once.
	Chunk   int
	Writers int
	// Metrics, when set, counts the rows and outcome of each finished batch.
	Metrics *metrics.Imports
	// afterChunk, in tests, runs after each stored chunk (an error stops
	// the run there, as a crash would).
	afterChunk func() error
}

// MatchFunc has stored raw records matched (internal/matcher's ProcessMany).
type MatchFunc func(ctx context.Context, ids []uuid.UUID) error

// NewWorker builds the worker side.
func NewWorker(pool *pgxpool.Pool, enq *tasks.Enqueuer, match MatchFunc, logger *slog.Logger) *Worker {
	return &Worker{pool: pool, q: db.New(pool), enq: enq, match: match, intents: intent.New(pool), expected: expected.New(pool),
		log: logger, Chunk: 2000, Writers: 3}
}

// row is one raw record to store.
type row = db.CopyImportRowsParams

// summary is what a batch says about each statement of its file.
type summary struct {
	ID         string           `json:"id"`
	Format     string           `json:"format"`
	Account    string           `json:"account"`
	Currency   string           `json:"currency"`
	Sequence   string           `json:"sequence,omitempty"`
	Opening    *statementAmount `json:"openingBalance"`
	Closing    *statementAmount `json:"closingBalance"`
	Entries    int              `json:"entries"`
	Credits    string           `json:"credits"`
	Debits     string           `json:"debits"`
	Reconciles *bool            `json:"reconciles"`
	Difference *string          `json:"difference"`

	credit, debit decimal.Decimal
}

type statementAmount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Date     string `json:"date"`
}

func balance(b *statement.Balance) *statementAmount {
	if b == nil {
		return nil
	}
	return &statementAmount{Amount: b.Amount.String(), Currency: b.Currency, Date: b.Date.Format(time.DateOnly)}
}

// Parse reads a batch's file into raw records, a chunk per transaction, and
// completes the batch (or fails it, when the file cannot be read). It
// resumes where a previous run stopped: each chunk commits with the count
// of rows stored, and rows up to that count are skipped. taskID is the
// parse task's outbox row, removed when the batch is finished.
func (w *Worker) Parse(ctx context.Context, batchID uuid.UUID, taskID string) error {
	b, err := w.q.StartImportBatch(ctx, batchID)
	if errors.Is(err, pgx.ErrNoRows) {
		// Finished already (a redelivered task).
		return tasks.Done(ctx, w.q, taskID)
	}
	if err != nil {
		return fmt.Errorf("start import batch %s: %w", batchID, err)
	}
	content, err := w.q.GetImportFile(ctx, batchID)
	if err != nil {
		return fmt.Errorf("read import file %s: %w", batchID, err)
	}
	var warnings []string
	parse, err := parserFor(b, func(e *statement.Error) { warnings = append(warnings, e.Error()) })
	if err != nil {
		return w.fail(ctx, b, taskID, err)
	}

	// Chunks are stored by writers of their own while parsing goes on:
	// the database and the parser work at the same time.
	skip := int(b.TotalRows)
	chunks := make(chan []row, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	written := make(chan error, 1)
	go func() { written <- w.write(wctx, b, skip, chunks) }()

	var (
		ordinal   int
		pending   = make([]row, 0, w.Chunk)
		summaries []*summary
		current   *summary
		currentOf *statement.Statement
	)
	send := func() error {
		if len(pending) == 0 {
			return nil
		}
		select {
		case chunks <- pending:
			pending = make([]row, 0, w.Chunk)
			return nil
		case err := <-written:
			// The writer stopped on an error: so does the parse.
			written <- err
			return errWriter
		}
	}
	now := time.Now()
	err = parse(bytes.NewReader(content), statement.Handler{
		Entry: func(s *statement.Statement, e *statement.Entry) error {
			if s != currentOf {
				currentOf, current = s, &summary{}
			}
			if e.Status == statement.StatusBooked && len(e.Errors) == 0 {
				if e.Direction == statement.Credit {
					current.credit = current.credit.Add(e.Amount)
				} else {
					current.debit = current.debit.Add(e.Amount)
				}
			}
			current.Entries++
			ordinal++
			if ordinal <= skip {
				return nil
			}
			pending = append(pending, toRow(b, s, e, ordinal, now))
			if len(pending) >= w.Chunk {
				return send()
			}
			return nil
		},
		End: func(s *statement.Statement) error {
			if s != currentOf {
				currentOf, current = s, &summary{}
			}
			summaries = append(summaries, summarize(s, current))
			currentOf, current = nil, nil
			return nil
		},
	})
	// What was read is stored, even before a parse error: the batch then
	// fails with rows up to where the file broke.
	if err == nil || !errors.Is(err, errWriter) {
		if serr := send(); serr != nil && err == nil {
			err = serr
		}
	}
	close(chunks)
	if werr := <-written; werr != nil {
		return werr
	}
	var perr *statement.Error
	switch {
	case errors.As(err, &perr):
		return w.fail(ctx, b, taskID, perr)
	case err != nil:
		return err
	case ordinal == 0:
		return w.fail(ctx, b, taskID, errors.New("the file has no entries"))
	}
	return w.complete(ctx, b, taskID, summaries, warnings)
}

// errWriter: the chunk writer failed; its error is the one to return.
var errWriter = errors.New("chunk writer stopped")

// write stores chunks, up to w.Writers at once, until chunks is closed or
// one fails (the parse then sees the error at its next send).
func (w *Worker) write(ctx context.Context, b db.ImportBatch, stored int, chunks <-chan []row) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, w.Writers))
	var prev *chunk
	for rows := range chunks {
		if gctx.Err() != nil {
			break
		}
		c := &chunk{rows: rows, before: stored, counted: make(chan struct{})}
		stored += len(rows)
		p := prev
		g.Go(func() error {
			if err := w.store(gctx, b, c, p); err != nil {
				return err
			}
			if w.afterChunk != nil {
				return w.afterChunk()
			}
			return nil
		})
		prev = c
	}
	return g.Wait()
}

// chunk is a run of rows to store, after the rows stored before it;
// counted is closed once its transaction is over, and ok says whether it
// committed.
type chunk struct {
	rows    []row
	before  int
	counted chan struct{}
	ok      bool
}

// store writes a chunk and counts it, in one transaction. Chunks are
// copied in parallel (the COPY is the costly part), but each counts itself
// only once the chunk before it has committed, and the count is guarded by
// what it was before: the stored count only ever covers a gapless prefix
// of the file — what a resumed run skips.
func (w *Worker) store(ctx context.Context, b db.ImportBatch, c *chunk, prev *chunk) error {
	defer close(c.counted)
	valid := 0
	for _, r := range c.rows {
		if *r.ValidationStatus == "valid" {
			valid++
		}
	}
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		if _, err := q.CopyImportRows(ctx, c.rows); err != nil {
			return fmt.Errorf("store rows of batch %s: %w", b.ID, err)
		}
		if prev != nil {
			select {
			case <-prev.counted:
			case <-ctx.Done():
				return ctx.Err()
			}
			if !prev.ok {
				return fmt.Errorf("batch %s: the chunk before this one was not stored", b.ID)
			}
		}
		n, err := q.AdvanceImportBatch(ctx, db.AdvanceImportBatchParams{
			ID: b.ID, StoredBefore: int32(c.before), Rows: int32(len(c.rows)), Valid: int32(valid), Invalid: int32(len(c.rows) - valid),
		})
		if err != nil {
			return fmt.Errorf("count rows of batch %s: %w", b.ID, err)
		}
		if n == 0 {
			return fmt.Errorf("batch %s: another worker stored rows meanwhile", b.ID)
		}
		return nil
	})
	c.ok = err == nil
	return err
}

func (w *Worker) complete(ctx context.Context, b db.ImportBatch, taskID string, summaries []*summary, warnings []string) error {
	if summaries == nil {
		summaries = []*summary{}
	}
	if warnings == nil {
		warnings = []string{}
	}
	js, err := json.Marshal(summaries)
	if err != nil {
		return fmt.Errorf("encode statements: %w", err)
	}
	warned, _ := json.Marshal(warnings)
	var (
		match    *tasks.Job
		finished *db.ImportBatch
	)
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		done, err := q.CompleteImportBatch(ctx, db.CompleteImportBatchParams{ID: b.ID, Statements: js, Warnings: warned})
		if errors.Is(err, pgx.ErrNoRows) {
			return tasks.Done(ctx, q, taskID)
		}
		if err != nil {
			return fmt.Errorf("complete batch %s: %w", b.ID, err)
		}
		finished = &done
		if err := recordEvent(ctx, q, done, EventCompleted); err != nil {
			return err
		}
		if done.ValidRows > 0 {
			job := NewMatchJob(done)
			if err := tasks.Record(ctx, q, job); err != nil {
				return err
			}
			match = &job
		}
		return tasks.Done(ctx, q, taskID)
	})
	if err != nil {
		return err
	}
	w.count(finished, "completed")
	if match != nil {
		if err := w.enq.Enqueue(ctx, *match); err != nil {
			w.log.WarnContext(ctx, "enqueue import match; left to the outbox sweeper", "batch_id", b.ID.String(), "err", err.Error())
		}
	}
	return nil
}

func (w *Worker) fail(ctx context.Context, b db.ImportBatch, taskID string, cause error) error {
	var finished *db.ImportBatch
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		failed, err := q.FailImportBatch(ctx, db.FailImportBatchParams{ID: b.ID, Error: cause.Error()})
		if errors.Is(err, pgx.ErrNoRows) {
			return tasks.Done(ctx, q, taskID)
		}
		finished = &failed
		if err != nil {
			return fmt.Errorf("fail batch %s: %w", b.ID, err)
		}
		reason := "The batch failed: " + cause.Error()
		if err := q.InvalidateImportRows(ctx, db.InvalidateImportRowsParams{BatchID: &b.ID, Reason: reason}); err != nil {
			return fmt.Errorf("invalidate rows of batch %s: %w", b.ID, err)
		}
		if err := recordEvent(ctx, q, failed, EventFailed); err != nil {
			return err
		}
		return tasks.Done(ctx, q, taskID)
	})
	if err == nil {
		w.count(finished, "failed")
	}
	return err
}

// count records a batch this run finished (nil: another run had).
func (w *Worker) count(b *db.ImportBatch, outcome string) {
	if w.Metrics == nil || b == nil {
		return
	}
	w.Metrics.Batches.WithLabelValues(b.Format, outcome).Inc()
	w.Metrics.Rows.WithLabelValues(b.Format, "valid").Add(float64(b.ValidRows))
	w.Metrics.Rows.WithLabelValues(b.Format, "invalid").Add(float64(b.InvalidRows))
}

// Match has the matcher place a completed batch's queued evidence, a chunk
// at a time, and keeps the batch's matched count; a ledger batch's rows are
// recorded as payment intents instead. It stops at ctx's end; the next run
// takes the rest.
func (w *Worker) Match(ctx context.Context, batchID uuid.UUID, taskID string) error {
	b, err := w.q.GetImportBatchByID(ctx, batchID)
	if err != nil {
		return fmt.Errorf("read import batch %s: %w", batchID, err)
	}
	if b.RecordType == RecordLedger {
		return w.recordIntents(ctx, b, taskID)
	}
	if b.RecordType == RecordBankStatement {
		if err := w.recordTransactions(ctx, b); err != nil {
			return err
		}
	}
	for {
		ids, err := w.q.QueuedImportRows(ctx, db.QueuedImportRowsParams{BatchID: &batchID, Lim: 200})
		if err != nil {
			return fmt.Errorf("read queued rows of batch %s: %w", batchID, err)
		}
		if len(ids) == 0 {
			break
		}
		if err := w.match(ctx, ids); err != nil {
			return fmt.Errorf("match rows of batch %s: %w", batchID, err)
		}
		// After each chunk, so that the count shows progress (a run
		// that finds nothing left was preceded by one that counted).
		if _, err := w.q.CountMatchedImportRows(ctx, &batchID); err != nil {
			return fmt.Errorf("count matched rows of batch %s: %w", batchID, err)
		}
	}
	return tasks.Done(ctx, w.q, taskID)
}

// parserFor picks the batch's parser. A control total the file states
// that its entries do not add up to fails the batch, unless the upload
// accepted such mismatches: then warn hears of each (banks do send files
// whose trailers are off, e.g. two of the public BAI2 samples).
func parserFor(b db.ImportBatch, warn func(*statement.Error)) (statement.Parser, error) {
	var opt statement.Options
	if b.AcceptControlMismatch {
		opt.ControlMismatch = func(e *statement.Error) error {
			warn(e)
			return nil
		}
	}
	var profile *statement.Profile
	if statement.Format(b.Format) == statement.FormatCSV {
		if len(b.ProfileSettings) == 0 {
			return nil, errors.New("a CSV batch needs an import profile")
		}
		profile = new(statement.Profile)
		if err := json.Unmarshal(b.ProfileSettings, profile); err != nil {
			return nil, fmt.Errorf("the batch's import profile cannot be read: %w", err)
		}
	}
	return statement.ParserFor(statement.Format(b.Format), opt, profile)
}

func summarize(s *statement.Statement, sum *summary) *summary {
	out := &summary{
		ID: s.ID, Format: string(s.Format), Account: s.Account.ID, Currency: s.Currency, Sequence: s.Sequence,
		Opening: balance(s.Opening), Closing: balance(s.Closing), Entries: sum.Entries,
		Credits: sum.credit.String(), Debits: sum.debit.String(),
	}
	if diff, stated := statement.Difference(s, sum.credit, sum.debit); stated {
		ok, d := diff.IsZero(), diff.String()
		out.Reconciles, out.Difference = &ok, &d
	}
	return out
}

// toRow turns an entry into the raw record the batch stores: evidence of
// the batch's record type, or, when the entry is invalid, what was read of
// it with the reasons.
func toRow(b db.ImportBatch, s *statement.Statement, e *statement.Entry, ordinal int, now time.Time) row {
	source := sourceOf(b.RecordType)
	payload, problems := evidencePayload(b.RecordType, s, e)
	problems = append(append([]string(nil), e.Errors...), problems...)
	status, match := "valid", evidence.StatusQueued
	var errs []byte
	if len(problems) > 0 {
		status, match = "invalid", evidence.StatusInvalid
		for i, p := range problems {
			// Parsers that know the line already name it.
			if !strings.HasPrefix(p, "line ") {
				problems[i] = fmt.Sprintf("%s: %s", e.Pos, p)
			}
		}
		errs, _ = json.Marshal(problems)
	}
	rowNumber := int32(ordinal)
	if b.Format == string(statement.FormatCSV) {
		// A CSV row is numbered by its line (the header is row 1).
		rowNumber = int32(e.Pos.Line)
	}
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return row{
		// The ordinal is zero-padded so that a file's refs sort in file
		// order (index inserts at the end, as with the ids).
		ID: id, OrganizationID: b.OrganizationID, Source: source, SourceRef: fmt.Sprintf("import:%s:%010d", b.ID, ordinal),
		Payload: payload, ImportBatchID: &b.ID, RowNumber: &rowNumber, ValidationStatus: &status, ValidationErrors: errs,
		MatchStatus: match, ReceivedAt: now,
	}
}

func sourceOf(recordType string) string {
	switch recordType {
	case RecordPSPReport:
		return evidence.SourceProvider
	case RecordOnchainReport:
		return evidence.SourceOnchain
	case RecordLedger:
		return SourceLedger
	}
	return evidence.SourceBank
}

// evidencePayload is the entry as the evidence API would have received it
// (a ledger row: as the payment intent API would have), and what makes it
// invalid as such.
func evidencePayload(recordType string, s *statement.Statement, e *statement.Entry) ([]byte, []string) {
	switch recordType {
	case RecordBankStatement:
		return bankPayload(s, e)
	case RecordLedger:
		return ledgerPayload(e)
	}
	body := nest(e.Fields)
	js, _ := json.Marshal(body)
	var problems []string
	switch recordType {
	case RecordPSPReport:
		for _, f := range []string{"provider", "providerTransferId", "status", "amount.amount", "amount.currency"} {
			if e.Fields[f] == "" {
				problems = append(problems, fmt.Sprintf("%s is required for a PSP report row", f))
			}
		}
	case RecordOnchainReport:
		for _, f := range []string{"chainFamily", "txHash", "status", "amount.amount", "amount.currency"} {
			if e.Fields[f] == "" {
				problems = append(problems, fmt.Sprintf("%s is required for an on-chain report row", f))
			}
		}
	}
	if len(problems) == 0 {
		if _, err := evidence.Normalize(sourceOf(recordType), js, time.Now()); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return js, problems
}

// bankEvidence is POST /v1/evidence/bank's body, with what the statement
// says beyond it in payload.
type bankEvidence struct {
	BankAccount           *string              `json:"bankAccount"`
	Direction             string               `json:"direction"`
	Amount                moneyJSON            `json:"amount"`
	Status                string               `json:"status"`
	BookingDate           *string              `json:"bookingDate"`
	ValueDate             *string              `json:"valueDate"`
	BankReference         *string              `json:"bankReference"`
	EndToEndID            *string              `json:"endToEndId"`
	RemittanceInformation *string              `json:"remittanceInformation"`
	CounterpartyName      *string              `json:"counterpartyName"`
	References            []evidence.Reference `json:"references,omitempty"`
	Payload               statementContext     `json:"payload"`
}

type moneyJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// statementContext is where an entry stood and what else the file said.
type statementContext struct {
	StatementID         string `json:"statementId,omitempty"`
	Position            string `json:"position"`
	EntryStatus         string `json:"entryStatus"`
	TypeCode            string `json:"typeCode,omitempty"`
	Reversal            bool   `json:"reversal,omitempty"`
	BatchRef            string `json:"batchRef,omitempty"`
	Description         string `json:"description,omitempty"`
	CounterpartyAccount string `json:"counterpartyAccount,omitempty"`
}

// bankPayload is a statement entry as bank evidence (POST /v1/evidence/bank).
func bankPayload(s *statement.Statement, e *statement.Entry) ([]byte, []string) {
	var problems []string
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	date := func(t *time.Time) *string {
		if t == nil {
			return nil
		}
		d := t.Format(time.DateOnly)
		return &d
	}
	status := "booked"
	if e.Status != statement.StatusBooked {
		status = "pending"
	}
	account := s.Account.ID
	if e.Fields != nil && e.Fields["accountId"] != "" {
		account = e.Fields["accountId"]
	}
	currency := e.Currency
	if currency == "" {
		currency = s.Currency
	}
	if currency == "" {
		problems = append(problems, "the entry has no currency (map a currency column or set a default)")
	}
	if e.Direction != statement.Credit && e.Direction != statement.Debit {
		problems = append(problems, "the entry has no direction (credit or debit)")
	}
	body := bankEvidence{
		BankAccount: str(account), Direction: string(e.Direction),
		Amount: moneyJSON{Amount: e.Amount.String(), Currency: strings.ToUpper(currency)},
		Status: status, BookingDate: date(e.BookingDate), ValueDate: date(e.ValueDate),
		BankReference: str(e.BankReference), EndToEndID: str(e.EndToEndID),
		RemittanceInformation: str(e.Remittance), CounterpartyName: str(e.CounterpartyName),
		Payload: statementContext{StatementID: s.ID, Position: e.Pos.String(), EntryStatus: e.Status, TypeCode: e.TypeCode,
			Reversal: e.Reversal, BatchRef: e.BatchRef, Description: e.Description, CounterpartyAccount: e.CounterpartyAcct},
	}
	if e.CustomerReference != "" {
		body.References = append(body.References, evidence.Reference{Type: "customer_reference", Value: e.CustomerReference})
	}
	if e.TransactionID != "" {
		body.References = append(body.References, evidence.Reference{Type: "transaction_id", Value: e.TransactionID})
	}
	js, err := gojson.Marshal(body)
	if err != nil {
		problems = append(problems, "the entry cannot be encoded: "+err.Error())
	}
	return js, problems
}

// nest turns dotted paths into nested objects: {"amount.amount": "1"} →
// {"amount": {"amount": "1"}}.
func nest(fields map[string]string) map[string]any {
	out := map[string]any{}
	for path, v := range fields {
		parts := strings.Split(path, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	return out
}
