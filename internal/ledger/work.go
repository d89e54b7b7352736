package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/ledgermatch"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// Task types of ledger runs.
const (
	TypeSource    = "ledger:source"
	TypeAutoMatch = "run:automatch"
	TypePurge     = "ledger:purge"
)

// EventRunCompleted is the webhook event of a finished auto-match.
const EventRunCompleted = "ledger_reconciliation_run.completed"

// Task is the payload of both tasks.
type Task struct {
	OrganizationID uuid.UUID `json:"organizationId"`
	RunID          uuid.UUID `json:"runId"`
	SourceID       uuid.UUID `json:"sourceId,omitempty"`
	// Notify is the waiter channel to publish the outcome on.
	Notify string `json:"notify,omitempty"`
}

// NewSourceJob parses an uploaded statement file into the run's lines.
func NewSourceJob(src db.LedgerRunSource, notify string) tasks.Job {
	p, _ := json.Marshal(Task{OrganizationID: src.OrganizationID, RunID: src.RunID, SourceID: src.ID, Notify: notify})
	return tasks.Job{ID: TypeSource + ":" + src.ID.String(), Type: TypeSource, Queue: "default", Payload: p,
		OrganizationID: &src.OrganizationID, Timeout: 30 * time.Minute}
}

// NewPurgeJob removes a deleted run's rows.
func NewPurgeJob(r db.LedgerRun) tasks.Job {
	p, _ := json.Marshal(Task{OrganizationID: r.OrganizationID, RunID: r.ID})
	return tasks.Job{ID: TypePurge + ":" + r.ID.String(), Type: TypePurge, Queue: "low", Payload: p,
		OrganizationID: &r.OrganizationID, Timeout: 30 * time.Minute}
}

// Purge removes a deleted run's rows — match members, matches,
// discrepancies, lines, source files — in one transaction, dependents
// first. The run row stays (deleted), as do its audit events. Each delete
// checks the run is deleted: a task for a live run removes nothing.
func (w *Worker) Purge(ctx context.Context, t Task, taskID string) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		for _, purge := range []struct {
			what string
			do   func(context.Context, uuid.UUID) error
		}{
			{"match members", q.PurgeRunMembers}, {"matches", q.PurgeRunMatches}, {"discrepancies", q.PurgeRunDiscrepancies},
			{"lines", q.PurgeRunItems}, {"source files", q.PurgeRunSources},
		} {
			if err := purge.do(ctx, t.RunID); err != nil {
				return fmt.Errorf("purge %s of run %s: %w", purge.what, t.RunID, err)
			}
		}
		return tasks.Done(ctx, q, taskID)
	})
}

// autoMatchTimeout bounds one auto-match.
const autoMatchTimeout = 30 * time.Minute

// ErrRunBusy: another auto-match of the run was still under way when the
// task had waited for it as long as it waits; the task is tried again later.
var ErrRunBusy = errors.New("another auto-match of the run is running")

// errRunGone: the run was closed or deleted before its auto-match started.
var errRunGone = errors.New("run closed or deleted")

// NewAutoMatchJob matches a whole run. Each request is a task of its own:
// one that finds the run's auto-match under way waits for it to finish,
// then matches what it left (AutoMatch).
func NewAutoMatchJob(r db.LedgerRun, notify string) tasks.Job {
	p, _ := json.Marshal(Task{OrganizationID: r.OrganizationID, RunID: r.ID, Notify: notify})
	id, _ := uuid.NewV7()
	return tasks.Job{ID: TypeAutoMatch + ":" + r.ID.String() + ":" + id.String(), Type: TypeAutoMatch, Queue: "default", Payload: p,
		OrganizationID: &r.OrganizationID, Timeout: autoMatchTimeout}
}

// SourceOutcome is what an upload's waiter hears.
type SourceOutcome struct {
	Status   string `json:"status"`
	Imported int    `json:"imported"`
	Error    string `json:"error,omitempty"`
}

// AutoMatchOutcome is what an auto-match request's waiter hears: the run's
// status after the task, and, completed, the run's matches (not rejected)
// then — not only the ones this pass added, which are none when the run's
// own auto-match, started by an upload, got there first.
type AutoMatchOutcome struct {
	Status  string `json:"status"`
	Matched int    `json:"matched"`
	Error   string `json:"error,omitempty"`
}

// Worker runs the tasks of ledger runs.
type Worker struct {
	pool *pgxpool.Pool
	q    *db.Queries
	rdb  redis.UniversalClient
	enq  *tasks.Enqueuer
	log  *slog.Logger
	// Chunk is how many lines go to Postgres per COPY.
	Chunk int
	// MatchChunk is how many matches are stored per transaction, and
	// Writers how many transactions store them at once.
	MatchChunk int
	Writers    int
	// BusyWait is how long an auto-match task waits for another auto-match
	// of its run to finish, looking again every BusyPoll at first, before it
	// leaves the wait to a retry of its task (ErrRunBusy).
	BusyWait, BusyPoll time.Duration
}

// NewWorker builds the worker side.
func NewWorker(pool *pgxpool.Pool, rdb redis.UniversalClient, enq *tasks.Enqueuer, logger *slog.Logger) *Worker {
	return &Worker{pool: pool, q: db.New(pool), rdb: rdb, enq: enq, log: logger, Chunk: 20000, MatchChunk: 25000, Writers: 2,
		BusyWait: 2 * time.Minute, BusyPoll: 25 * time.Millisecond}
}

func (w *Worker) publish(ctx context.Context, channel, key string, outcome any) {
	if channel == "" || w.rdb == nil {
		return
	}
	b, _ := json.Marshal(outcome)
	if err := tasks.Publish(ctx, w.rdb, channel, key, b); err != nil {
		w.log.WarnContext(ctx, "publish ledger outcome", "key", key, "err", err.Error())
	}
}

// runCSVOptional are the columns a run's CSV statement may have beyond
// booking_date (YYYY-MM-DD), amount (signed: + money in) and currency.
var runCSVOptional = map[string]string{
	"value_date": "valueDate", "reference": "customerReference", "end_to_end_id": "endToEndId",
	"counterparty": "counterpartyName", "description": "description",
}

// csvProfileFor is how a run reads a CSV statement: the required columns,
// and the optional ones its header names.
func csvProfileFor(content []byte) *statement.Profile {
	p := statement.Profile{Fields: []statement.FieldMapping{
		{Column: "booking_date", Path: "bookingDate"}, {Column: "amount", Path: "amount"}, {Column: "currency", Path: "currency"},
	}}
	header, _, _ := bytes.Cut(bytes.TrimPrefix(content, []byte("\xef\xbb\xbf")), []byte("\n"))
	for _, col := range strings.Split(strings.TrimSpace(string(header)), ",") {
		if path, ok := runCSVOptional[strings.TrimSpace(col)]; ok {
			p.Fields = append(p.Fields, statement.FieldMapping{Column: strings.TrimSpace(col), Path: path})
		}
	}
	return &p
}

// sourceSummary is what a source says about each statement of its file.
type sourceSummary struct {
	ID       string          `json:"id"`
	Account  string          `json:"account"`
	Currency string          `json:"currency"`
	Opening  *summaryBalance `json:"opening_balance"`
	Closing  *summaryBalance `json:"closing_balance"`
	Lines    int             `json:"lines"`
	Skipped  int             `json:"skipped"`
	Problems []string        `json:"problems,omitempty"`
	closing  *statement.Balance
}

type summaryBalance struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Date     string `json:"date"`
}

func summaryOf(b *statement.Balance) *summaryBalance {
	if b == nil {
		return nil
	}
	return &summaryBalance{Amount: b.Amount.String(), Currency: b.Currency, Date: b.Date.Format(time.DateOnly)}
}

// ParseSource reads an uploaded file into the run's lines — booked entries
// only; pending ones and ones without an amount or date are skipped and
// counted — in one transaction with the source marked processed: a run cut
// short stores nothing, and the next parses again. A file that cannot be
// read fails the source. In automatic mode the run is then auto-matched.
func (w *Worker) ParseSource(ctx context.Context, t Task, taskID string) error {
	src, err := w.q.GetRunSourceByID(ctx, t.SourceID)
	if errors.Is(err, pgx.ErrNoRows) {
		return tasks.Done(ctx, w.q, taskID) // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("read source %s: %w", t.SourceID, err)
	}
	if src.Status != "pending" {
		w.publish(ctx, t.Notify, src.ID.String(), SourceOutcome{Status: src.Status, Imported: int(src.Imported), Error: deref(src.Error)})
		return tasks.Done(ctx, w.q, taskID)
	}
	run, err := w.q.GetLedgerRunByID(ctx, src.RunID)
	if err != nil {
		return fmt.Errorf("read run of source %s: %w", src.ID, err)
	}
	content, err := w.q.GetRunFile(ctx, src.ID)
	if err != nil {
		return fmt.Errorf("read source file %s: %w", src.ID, err)
	}
	var profile *statement.Profile
	if statement.Format(src.Format) == statement.FormatCSV {
		profile = csvProfileFor(content)
	}
	parse, err := statement.ParserFor(statement.Format(src.Format), statement.Options{}, profile)
	if err != nil {
		return w.failSource(ctx, src, t, taskID, err)
	}

	var (
		match     *tasks.Job
		summaries []*sourceSummary
		current   *sourceSummary
		currentOf *statement.Statement
		imported  int
		ordinal   int
		chunk     = make([]db.CopyRunItemsParams, 0, w.Chunk)
	)
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		flush := func() error {
			if len(chunk) == 0 {
				return nil
			}
			if _, err := q.CopyRunItems(ctx, chunk); err != nil {
				return fmt.Errorf("store lines of source %s: %w", src.ID, err)
			}
			imported += len(chunk)
			chunk = chunk[:0]
			return nil
		}
		summaryFor := func(s *statement.Statement) *sourceSummary {
			if s != currentOf {
				currentOf = s
				current = &sourceSummary{ID: s.ID, Account: s.Account.ID, Currency: s.Currency}
				summaries = append(summaries, current)
			}
			return current
		}
		perr := parse(bytes.NewReader(content), statement.Handler{
			Entry: func(s *statement.Statement, e *statement.Entry) error {
				sum := summaryFor(s)
				ordinal++
				item, problem := toItem(run, src, s, e, ordinal)
				if problem != "" {
					sum.Skipped++
					if len(sum.Problems) < 20 {
						if !strings.HasPrefix(problem, "line ") {
							problem = e.Pos.String() + ": " + problem
						}
						sum.Problems = append(sum.Problems, problem)
					}
					return nil
				}
				sum.Lines++
				chunk = append(chunk, item)
				if len(chunk) >= w.Chunk {
					return flush()
				}
				return nil
			},
			End: func(s *statement.Statement) error {
				sum := summaryFor(s)
				sum.Opening, sum.Closing, sum.closing = summaryOf(s.Opening), summaryOf(s.Closing), s.Closing
				if sum.Currency == "" && s.Closing != nil {
					sum.Currency = s.Closing.Currency
				}
				return nil
			},
		})
		if perr != nil {
			return perr
		}
		if err := flush(); err != nil {
			return err
		}
		if summaries == nil {
			summaries = []*sourceSummary{}
		}
		js, _ := json.Marshal(summaries)
		if _, err := q.ProcessRunSource(ctx, db.ProcessRunSourceParams{ID: src.ID, Imported: int32(imported), Statements: js}); err != nil {
			return fmt.Errorf("mark source %s processed: %w", src.ID, err)
		}
		if run.Mode == ModeAutomatic && imported > 0 {
			j := NewAutoMatchJob(run, "")
			if err := tasks.Record(ctx, q, j); err != nil {
				return err
			}
			match = &j
		}
		return tasks.Done(ctx, q, taskID)
	})
	if err == nil && match != nil {
		// After commit: the job must see the lines.
		if err := w.enq.Enqueue(ctx, *match); err != nil {
			w.log.WarnContext(ctx, "enqueue auto-match; left to the outbox sweeper", "run_id", run.ID.String(), "err", err.Error())
		}
	}
	var perr *statement.Error
	var profErr *statement.ProfileError
	if errors.As(err, &perr) || errors.As(err, &profErr) {
		return w.failSource(ctx, src, t, taskID, err)
	}
	if err != nil {
		return err
	}
	w.publish(ctx, t.Notify, src.ID.String(), SourceOutcome{Status: "processed", Imported: imported})
	return nil
}

func (w *Worker) failSource(ctx context.Context, src db.LedgerRunSource, t Task, taskID string, cause error) error {
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		if _, err := q.FailRunSource(ctx, db.FailRunSourceParams{ID: src.ID, Error: cause.Error()}); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("fail source %s: %w", src.ID, err)
		}
		return tasks.Done(ctx, q, taskID)
	})
	if err == nil {
		w.publish(ctx, t.Notify, src.ID.String(), SourceOutcome{Status: "failed", Error: cause.Error()})
	}
	return err
}

// toItem is a statement entry as a run's line, or why it is skipped.
func toItem(run db.LedgerRun, src db.LedgerRunSource, s *statement.Statement, e *statement.Entry, ordinal int) (db.CopyRunItemsParams, string) {
	switch {
	case len(e.Errors) > 0:
		return db.CopyRunItemsParams{}, strings.Join(e.Errors, "; ")
	case e.Status != statement.StatusBooked:
		return db.CopyRunItemsParams{}, "not booked (" + e.Status + ")"
	case e.Direction != statement.Credit && e.Direction != statement.Debit:
		return db.CopyRunItemsParams{}, "no direction"
	}
	currency := e.Currency
	if currency == "" {
		currency = s.Currency
	}
	if currency == "" {
		return db.CopyRunItemsParams{}, "no currency"
	}
	day := e.BookingDate
	if day == nil {
		day = e.ValueDate
	}
	if day == nil {
		return db.CopyRunItemsParams{}, "no booking or value date"
	}
	var value pgtype.Date // NULL unless stated
	if e.ValueDate != nil {
		value = Date(*e.ValueDate)
	}
	reference := e.CustomerReference
	if reference == "" {
		reference = e.Remittance
	}
	description := e.Description
	if description == "" {
		description = e.Remittance
	}
	id, _ := uuid.NewV7()
	return db.CopyRunItemsParams{
		ID: id, OrganizationID: run.OrganizationID, RunID: run.ID, SourceID: src.ID, RowNumber: int32(ordinal),
		Direction: string(e.Direction), Amount: numeric.From(e.Amount), Currency: strings.ToUpper(currency),
		BookingDate: Date(*day), ValueDate: value, Status: e.Status, Reference: opt(reference), EndToEndID: opt(e.EndToEndID),
		Counterparty: opt(e.CounterpartyName), Description: opt(description),
	}, ""
}

// AutoMatch matches a whole run: loads its open lines and the free GL
// entries of its ledger (account) booked within the lines' dates widened by
// the window, runs the engine once, and writes matches, their members and
// discrepancies with COPY, in one transaction that also completes the run.
// Confident matches are accepted in automatic mode; the rest suggested.
// Discrepancies still open from an earlier auto-match are replaced.
//
// A task that finds another auto-match of the run under way — the one an
// upload to an automatic run started, say, when the client asks for
// auto-match right after the upload — waits for it, then matches what it
// left (nothing, usually: lines and entries an active match holds are not
// loaded again, so nothing is matched twice). Its outcome is the run's:
// completed with the run's matches, which the other auto-match made.
func (w *Worker) AutoMatch(ctx context.Context, t Task, taskID string) error {
	run, err := w.startMatch(ctx, t.RunID, taskID)
	if errors.Is(err, errRunGone) {
		w.publish(ctx, t.Notify, taskID, AutoMatchOutcome{Status: "skipped"})
		return tasks.Done(ctx, w.q, taskID)
	}
	if err != nil {
		return err
	}
	done, err := w.autoMatch(ctx, run, taskID)
	if err != nil {
		if _, ferr := w.q.MoveLedgerRun(context.WithoutCancel(ctx), db.MoveLedgerRunParams{ID: run.ID, Status: RunFailed,
			Error: opt(err.Error()), FromStatuses: []string{RunRunning}}); ferr != nil {
			w.log.ErrorContext(ctx, "mark run failed", "run_id", run.ID.String(), "err", ferr.Error())
		}
		w.publish(ctx, t.Notify, taskID, AutoMatchOutcome{Status: RunFailed, Error: err.Error()})
		return err
	}
	w.publish(ctx, t.Notify, taskID, AutoMatchOutcome{Status: RunCompleted, Matched: int(done.MatchedCount)})
	return nil
}

// startMatch takes the run for the task. One auto-match of a run runs at a
// time: while another task holds the run, this one waits for it — looking
// again every BusyPoll, then less often, for at most BusyWait and half the
// time the task has left — rather than fail and wait out a retry's backoff
// (seconds to minutes, while the request that asked may be waiting for the
// outcome). Past the wait it returns ErrRunBusy, for a retry. A holder not
// heard of for the task timeout is presumed dead and the run taken over;
// this task delivered again (its worker died holding the run) takes the
// run back at once. errRunGone: the run was closed or deleted.
func (w *Worker) startMatch(ctx context.Context, runID uuid.UUID, taskID string) (db.LedgerRun, error) {
	wait := w.BusyWait
	if deadline, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(deadline)/2)
	}
	began := time.Now()
	giveUp := began.Add(wait)
	poll := max(w.BusyPoll, time.Millisecond)
	waited := false
	for {
		run, err := w.q.StartLedgerRunMatch(ctx, db.StartLedgerRunMatchParams{ID: runID, TaskID: taskID,
			StaleSeconds: int32(autoMatchTimeout / time.Second)})
		if err == nil {
			if waited {
				w.log.InfoContext(ctx, "auto-match waited for the run's other auto-match", "run_id", runID.String(),
					"task_id", taskID, "waited_ms", time.Since(began).Milliseconds())
			}
			return run, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return db.LedgerRun{}, fmt.Errorf("start run %s: %w", runID, err)
		}
		cur, err := w.q.GetLedgerRunByID(ctx, runID)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return db.LedgerRun{}, errRunGone
		case err != nil:
			return db.LedgerRun{}, fmt.Errorf("read run %s: %w", runID, err)
		case cur.Status == RunClosed:
			return db.LedgerRun{}, errRunGone
		case time.Now().Add(poll).After(giveUp):
			return db.LedgerRun{}, fmt.Errorf("run %s: %w", runID, ErrRunBusy)
		}
		waited = true
		select {
		case <-ctx.Done():
			return db.LedgerRun{}, fmt.Errorf("run %s: %w (%w)", runID, ErrRunBusy, ctx.Err())
		case <-time.After(poll):
		}
		// Still running, or it finished since: take it, or wait again.
		poll = min(poll*3/2, 500*time.Millisecond)
	}
}

// autoMatch runs the pass on a run the task holds and returns the run as
// it completed.
func (w *Worker) autoMatch(ctx context.Context, run db.LedgerRun, taskID string) (db.LedgerRun, error) {
	start := time.Now()
	stmt, gl, err := w.loadSides(ctx, run)
	if err != nil {
		return db.LedgerRun{}, err
	}
	loaded := time.Now()
	window := int(run.WindowDays)
	if window == 0 {
		window = -1 // the engine's "same day only"; its 0 means its default
	}
	res := ledgermatch.Run(stmt, gl, ledgermatch.Options{WindowDays: window, Exponent: exponent})
	decided := time.Now()

	// Matches are stored in chunks, by w.Writers connections at once, each
	// chunk with its members in a transaction of its own: a match is never
	// without its sides, and every stored chunk is a set of valid matches.
	// A run cut short keeps those; the next auto-match takes the rest (its
	// lines and entries are the ones no active match holds). Each writer
	// builds its chunk's rows itself, so only w.Writers chunks are in
	// memory at once.
	// In the order of their first line's id (time-ordered, as are the GL
	// entries'), each chunk touches a narrow range of the two unique
	// indexes rather than pages all over them: at a million matches the
	// scattered inserts cost more than everything else together.
	sortByFirstLine(res.Matches, stmt)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, w.Writers))
	size := max(1, w.MatchChunk)
	for from := 0; from < len(res.Matches); from += size {
		part := res.Matches[from:min(from+size, len(res.Matches))]
		g.Go(func() error {
			c := matchChunk(run, part, stmt, gl)
			return pgx.BeginFunc(gctx, w.pool, func(tx pgx.Tx) error {
				q := w.q.WithTx(tx)
				if _, err := q.CopyLedgerMatches(gctx, c.matches); err != nil {
					return fmt.Errorf("store matches of run %s: %w", run.ID, err)
				}
				if _, err := q.CopyMatchMembers(gctx, c.members); err != nil {
					return fmt.Errorf("store match members of run %s: %w", run.ID, err)
				}
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return db.LedgerRun{}, err
	}
	discrepancies := discrepancyRows(run, res.Discrepancies, stmt, gl)
	defer func() {
		w.log.InfoContext(ctx, "run auto-matched", "run_id", run.ID.String(), "lines", len(stmt), "entries", len(gl),
			"matches", len(res.Matches), "discrepancies", len(discrepancies),
			"load_ms", loaded.Sub(start).Milliseconds(), "match_ms", decided.Sub(loaded).Milliseconds(),
			"store_ms", time.Since(decided).Milliseconds())
	}()
	matched := len(res.Matches)
	var done db.LedgerRun
	err = pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		q := w.q.WithTx(tx)
		if err := q.ClearOpenDiscrepancies(ctx, run.ID); err != nil {
			return fmt.Errorf("clear discrepancies of run %s: %w", run.ID, err)
		}
		balance, err := w.balanceDiscrepancies(ctx, q, run)
		if err != nil {
			return err
		}
		reviewed, err := q.ReviewedDiscrepancies(ctx, run.ID)
		if err != nil {
			return fmt.Errorf("read reviewed discrepancies of run %s: %w", run.ID, err)
		}
		discrepancies = withoutReviewed(append(discrepancies, balance...), reviewed)
		if _, err := q.CopyDiscrepancies(ctx, discrepancies); err != nil {
			return fmt.Errorf("store discrepancies of run %s: %w", run.ID, err)
		}
		done, err = q.CompleteLedgerRun(ctx, run.ID)
		if err != nil {
			return fmt.Errorf("complete run %s: %w", run.ID, err)
		}
		data, _ := json.Marshal(map[string]any{"run": resource.RenderLedgerRun(done), "matched": matched, "discrepancies": len(discrepancies)})
		if err := q.InsertEventOutbox(ctx, db.InsertEventOutboxParams{OrganizationID: run.OrganizationID, EventType: EventRunCompleted, Data: data}); err != nil {
			return fmt.Errorf("record %s: %w", EventRunCompleted, err)
		}
		return tasks.Done(ctx, q, taskID)
	})
	if err != nil {
		return db.LedgerRun{}, err
	}
	return done, nil
}

// sortByFirstLine orders matches by their first line's id. It sorts
// (key, index) pairs and permutes once: sorting the Match structs
// themselves moved a million 90-byte values around.
func sortByFirstLine(matches []ledgermatch.Match, stmt []ledgermatch.Entry) {
	keys := make([]keyed, len(matches))
	for i, m := range matches {
		keys[i] = key(stmt[m.Statement[0]].ID, i)
	}
	sortKeyed(keys)
	sorted := make([]ledgermatch.Match, len(matches))
	for i, k := range keys {
		sorted[i] = matches[k.i]
	}
	copy(matches, sorted)
}

// chunk is matches stored together, with their members: lines sorted by
// id, then entries sorted by id, so that each of the two unique indexes
// takes its rows in order.
type chunk struct {
	matches []db.CopyLedgerMatchesParams
	members []db.CopyMatchMembersParams
}

func matchChunk(run db.LedgerRun, part []ledgermatch.Match, stmt, gl []ledgermatch.Entry) chunk {
	c := chunk{matches: make([]db.CopyLedgerMatchesParams, len(part))}
	var lines, entries []keyed // line and entry ids, with their match's index
	for i, m := range part {
		status := MatchSuggested
		if m.Confident && run.Mode == ModeAutomatic {
			status = MatchAccepted
		}
		id, _ := uuid.NewV7()
		var sum int64
		for _, s := range m.Statement {
			sum += stmt[s].Amount
			lines = append(lines, key(stmt[s].ID, i))
		}
		for _, l := range m.Ledger {
			entries = append(entries, key(gl[l].ID, i))
		}
		currency := stmt[m.Statement[0]].Currency
		c.matches[i] = db.CopyLedgerMatchesParams{ID: id, OrganizationID: run.OrganizationID, RunID: run.ID, Status: status, Kind: "auto",
			Strategy: m.Strategy, Score: m.Score, Reason: m.Reason,
			Amount: numeric.From(decimal.New(abs(sum), -exponent(currency))), Currency: currency, CreatedBy: "system"}
	}
	c.members = make([]db.CopyMatchMembersParams, 0, len(lines)+len(entries))
	add := func(side []keyed, line bool) {
		sortKeyed(side)
		for _, m := range side {
			row := db.CopyMatchMembersParams{MatchID: c.matches[m.i].ID, RunID: run.ID}
			id := m.id()
			if line {
				row.ItemID = &id
			} else {
				row.EntryID = &id
			}
			c.members = append(c.members, row)
		}
	}
	add(lines, true)
	add(entries, false)
	return c
}

// keyed is an id, as two integers (compared much faster than 16 bytes),
// with the index of what it is the id of, for sorting by id.
type keyed struct {
	hi, lo uint64
	i      int32
}

func key(id uuid.UUID, i int) keyed {
	return keyed{binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:]), int32(i)}
}

func (k keyed) id() uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[:8], k.hi)
	binary.BigEndian.PutUint64(id[8:], k.lo)
	return id
}

func sortKeyed(ks []keyed) {
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(a.hi, b.hi); c != 0 {
			return c
		}
		return cmp.Compare(a.lo, b.lo)
	})
}

// withoutReviewed drops what a person has already taken up: a discrepancy
// of the same type over the same lines and entries.
func withoutReviewed(found []db.CopyDiscrepanciesParams, reviewed []db.ReviewedDiscrepanciesRow) []db.CopyDiscrepanciesParams {
	if len(reviewed) == 0 {
		return found
	}
	key := func(typ string, items, entries []uuid.UUID) string {
		var b strings.Builder
		b.WriteString(typ)
		for _, ids := range [][]uuid.UUID{items, entries} {
			sorted := slices.Clone(ids)
			slices.SortFunc(sorted, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
			b.WriteByte('|')
			for _, id := range sorted {
				b.Write(id[:])
			}
		}
		return b.String()
	}
	taken := make(map[string]bool, len(reviewed))
	for _, r := range reviewed {
		taken[key(r.Type, r.ItemIds, r.EntryIds)] = true
	}
	out := found[:0]
	for _, d := range found {
		if !taken[key(d.Type, d.ItemIds, d.EntryIds)] {
			out = append(out, d)
		}
	}
	return out
}

// discrepancyRows are the engine's discrepancies as stored, each with the
// amount its sides are apart.
func discrepancyRows(run db.LedgerRun, found []ledgermatch.Discrepancy, stmt, gl []ledgermatch.Entry) []db.CopyDiscrepanciesParams {
	out := make([]db.CopyDiscrepanciesParams, 0, len(found))
	for _, d := range found {
		id, _ := uuid.NewV7()
		row := db.CopyDiscrepanciesParams{ID: id, OrganizationID: run.OrganizationID, RunID: run.ID, Type: d.Type, Severity: d.Severity,
			ItemIds: make([]uuid.UUID, len(d.Statement)), EntryIds: make([]uuid.UUID, len(d.Ledger)), Message: d.Message}
		var sum int64
		var currency string
		for i, s := range d.Statement {
			row.ItemIds[i], currency = stmt[s].ID, stmt[s].Currency
			sum += stmt[s].Amount
		}
		for i, l := range d.Ledger {
			row.EntryIds[i], currency = gl[l].ID, gl[l].Currency
			sum -= gl[l].Amount
		}
		if currency != "" {
			amount := decimal.New(abs(sum), -exponent(currency))
			row.Amount, row.Currency = numeric.NullFrom(&amount), &currency
		}
		out = append(out, row)
	}
	return out
}

// loadSides reads the run's open lines and the free GL entries of its
// ledger (account) booked within the lines' dates widened by the window,
// both at once on two connections, as the engine takes them.
func (w *Worker) loadSides(ctx context.Context, run db.LedgerRun) (stmt, gl []ledgermatch.Entry, err error) {
	days, err := w.q.RunItemDays(ctx, run.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("date range of run %s: %w", run.ID, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		items, err := w.q.OpenRunItems(gctx, run.ID)
		if err != nil {
			return fmt.Errorf("load lines of run %s: %w", run.ID, err)
		}
		stmt = make([]ledgermatch.Entry, len(items))
		for i, it := range items {
			units, err := minorUnits(it.Amount, it.Currency, it.Direction == "credit")
			if err != nil {
				return err
			}
			stmt[i] = ledgermatch.Entry{ID: it.ID, Currency: it.Currency, Amount: units, Day: it.Day, Refs: refs(it.Reference, it.EndToEndID)}
		}
		return nil
	})
	g.Go(func() error {
		widen := time.Duration(run.WindowDays) * 24 * time.Hour
		entries, err := w.q.OpenRunEntries(gctx, db.OpenRunEntriesParams{LedgerID: run.LedgerID, AccountID: run.AccountID,
			FirstDay: Date(days.FirstDay.Time.Add(-widen)), LastDay: Date(days.LastDay.Time.Add(widen))})
		if err != nil {
			return fmt.Errorf("load GL entries of run %s: %w", run.ID, err)
		}
		gl = make([]ledgermatch.Entry, len(entries))
		for i, e := range entries {
			units, err := minorUnits(e.Amount, e.Currency, e.Direction == "debit")
			if err != nil {
				return err
			}
			gl[i] = ledgermatch.Entry{ID: e.ID, Currency: e.Currency, Amount: units, Day: e.Day, Refs: refs(e.Reference, &e.ExternalID)}
		}
		return nil
	})
	return stmt, gl, g.Wait()
}

// balanceDiscrepancies compares each statement's closing balance with the
// GL balance of the run's ledger (account) on that day.
func (w *Worker) balanceDiscrepancies(ctx context.Context, q *db.Queries, run db.LedgerRun) ([]db.CopyDiscrepanciesParams, error) {
	stated, err := q.RunStatements(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("read statements of run %s: %w", run.ID, err)
	}
	var out []db.CopyDiscrepanciesParams
	for _, js := range stated {
		var sums []sourceSummary
		if err := json.Unmarshal(js, &sums); err != nil {
			return nil, fmt.Errorf("read statements of run %s: %w", run.ID, err)
		}
		for _, s := range sums {
			if s.Closing == nil {
				continue
			}
			closing, err := decimal.NewFromString(s.Closing.Amount)
			if err != nil {
				continue
			}
			day, err := time.Parse(time.DateOnly, s.Closing.Date)
			if err != nil {
				continue
			}
			gl, err := q.GLBalance(ctx, db.GLBalanceParams{LedgerID: run.LedgerID, AccountID: run.AccountID, Currency: s.Closing.Currency, Day: Date(day)})
			if err != nil {
				return nil, fmt.Errorf("GL balance of run %s: %w", run.ID, err)
			}
			if diff := closing.Sub(gl.Dec()); !diff.IsZero() {
				id, _ := uuid.NewV7()
				amount, currency := diff.Abs(), s.Closing.Currency
				out = append(out, db.CopyDiscrepanciesParams{ID: id, OrganizationID: run.OrganizationID, RunID: run.ID,
					Type: "balance_mismatch", Severity: ledgermatch.Critical, ItemIds: []uuid.UUID{}, EntryIds: []uuid.UUID{},
					Amount: numeric.NullFrom(&amount), Currency: &currency,
					Message: fmt.Sprintf("Statement %s closes at %s %s on %s; the ledger's balance that day is %s: %s apart.",
						s.ID, closing, currency, s.Closing.Date, gl.Dec(), diff)})
			}
		}
	}
	return out, nil
}

// minorUnits reads a stored amount (Postgres's text of a positive numeric)
// into signed minor units (+ when positive is true). Plain digits with at
// most the currency's decimals — nearly every amount — are read directly;
// anything else goes through decimal and ledgermatch.Units' rounding.
func minorUnits(amount, currency string, positive bool) (int64, error) {
	exp := exponent(currency)
	u, ok := plainUnits(amount, exp)
	if !ok {
		d, err := decimal.NewFromString(amount)
		if err != nil {
			return 0, fmt.Errorf("amount %q: %w", amount, err)
		}
		if u, ok = ledgermatch.Units(d, exp); !ok {
			return 0, fmt.Errorf("amount %s %s is too large to match", amount, currency)
		}
	}
	if !positive {
		u = -u
	}
	return u, nil
}

// plainUnits reads "123" or "123.45" with at most exp decimals as minor
// units; false for anything else (a sign, more decimals, 18+ digits).
func plainUnits(s string, exp int32) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var u int64
	decimals := int32(-1)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			u = u*10 + int64(c-'0')
			if decimals >= 0 {
				decimals++
			}
		case c == '.' && decimals < 0 && i > 0 && i < len(s)-1:
			decimals = 0
		default:
			return 0, false
		}
	}
	decimals = max(decimals, 0)
	if decimals > exp {
		return 0, false
	}
	for ; decimals < exp; decimals++ {
		u *= 10
	}
	return u, true
}

func exponent(currency string) int32 {
	if c, ok := money.LookupCurrency(currency); ok {
		return c.Decimals
	}
	return 2
}

func refs(vs ...*string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if v != nil && *v != "" {
			out = append(out, *v)
		}
	}
	return out
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
