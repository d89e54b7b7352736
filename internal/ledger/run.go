package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// Run statuses and modes (seed 003).
const (
	RunPending   = "pending"
	RunRunning   = "running"
	RunCompleted = "completed"
	RunFailed    = "failed"
	RunClosed    = "closed"

	ModeManual    = "manual"
	ModeAutomatic = "automatic"
)

// Match statuses (seed 003).
const (
	MatchSuggested = "suggested"
	MatchAccepted  = "accepted"
	MatchRejected  = "rejected"
)

// RunInput is a validated run.
type RunInput struct {
	LedgerID       uuid.UUID
	AccountID      *uuid.UUID
	Mode           string
	SourceType     string
	Note           *string
	IdempotencyKey *string
	WindowDays     int
	CreatedBy      string
}

// RunCreated is a run and whether this request created it (false: the
// run of the same idempotency key, returned as it is).
type RunCreated struct {
	Run     db.LedgerRun
	Created bool
}

// CreateRun opens a run on a ledger. A run created before with the same
// idempotency key is returned instead (Created false).
func (s *Service) CreateRun(ctx context.Context, org uuid.UUID, in RunInput, finish txn.Finish[RunCreated]) (RunCreated, error) {
	if _, err := s.GetLedger(ctx, org, in.LedgerID); err != nil {
		return RunCreated{}, err
	}
	if in.AccountID != nil {
		a, err := s.q.GetLedgerAccount(ctx, db.GetLedgerAccountParams{OrganizationID: org, ID: *in.AccountID})
		if errors.Is(err, pgx.ErrNoRows) || err == nil && a.LedgerID != in.LedgerID {
			return RunCreated{}, &fault.InputError{Path: []string{"account_id"}, Msg: "The ledger has no such account."}
		}
		if err != nil {
			return RunCreated{}, fmt.Errorf("read ledger account: %w", err)
		}
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (RunCreated, error) {
		q := s.q.WithTx(tx)
		r, err := q.CreateLedgerRun(ctx, db.CreateLedgerRunParams{
			OrganizationID: org, LedgerID: in.LedgerID, AccountID: in.AccountID, Mode: in.Mode, SourceType: in.SourceType,
			Note: in.Note, IdempotencyKey: in.IdempotencyKey, WindowDays: int32(in.WindowDays), CreatedBy: in.CreatedBy,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			r, err = q.GetLedgerRunByKey(ctx, db.GetLedgerRunByKeyParams{OrganizationID: org, IdempotencyKey: in.IdempotencyKey})
			if err != nil {
				return RunCreated{}, fmt.Errorf("read run by idempotency key: %w", err)
			}
			if r.LedgerID != in.LedgerID || r.Mode != in.Mode {
				return RunCreated{}, &fault.ConflictError{Code: "idempotency_key_conflict",
					Msg:     "A run with this idempotency_key exists for another ledger or mode.",
					Details: map[string]any{"run_id": r.ID.String()}}
			}
			return RunCreated{Run: r}, nil
		}
		if err != nil {
			return RunCreated{}, fmt.Errorf("create run: %w", err)
		}
		return RunCreated{Run: r, Created: true}, s.audit(ctx, q, r, in.CreatedBy, "ledger_run.created", fmt.Sprintf("Run created (%s).", r.Mode), nil)
	}, finish)
}

func (s *Service) audit(ctx context.Context, q *db.Queries, r db.LedgerRun, actor, typ, msg string, payload any) error {
	_, err := audit.Append(ctx, q, audit.Event{OrganizationID: r.OrganizationID, LedgerRunID: &r.ID, Type: typ, Actor: actor, Message: msg, Payload: payload})
	return err
}

// GetRun reads one run.
func (s *Service) GetRun(ctx context.Context, org, id uuid.UUID) (db.LedgerRun, error) {
	r, err := s.q.GetLedgerRun(ctx, db.GetLedgerRunParams{OrganizationID: org, ID: id})
	return fault.NotFound(r, err, ErrRunNotFound, "run")
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	LedgerID *uuid.UUID
	Status   *string
}

// ListRuns returns a page of runs, newest first, and the total.
func (s *Service) ListRuns(ctx context.Context, org uuid.UUID, f RunFilter, limit, offset int) ([]db.LedgerRun, int64, error) {
	total, err := s.q.CountLedgerRuns(ctx, db.CountLedgerRunsParams{OrganizationID: org, LedgerID: f.LedgerID, Status: f.Status})
	if err != nil {
		return nil, 0, fmt.Errorf("count runs: %w", err)
	}
	rows, err := s.q.ListLedgerRuns(ctx, db.ListLedgerRunsParams{OrganizationID: org, LedgerID: f.LedgerID, Status: f.Status, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return nil, 0, fmt.Errorf("list runs: %w", err)
	}
	return rows, total, nil
}

// RunUpdate changes a run's note, and closes it when Close is set.
type RunUpdate struct {
	SetNote bool
	Note    *string
	Close   bool
	Actor   string
}

// UpdateRun changes the note and/or closes the run (from completed or
// failed: a closed run takes no more files, matching or review).
func (s *Service) UpdateRun(ctx context.Context, org, id uuid.UUID, u RunUpdate) (db.LedgerRun, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.LedgerRun, error) {
		q := s.q.WithTx(tx)
		r, err := q.GetLedgerRun(ctx, db.GetLedgerRunParams{OrganizationID: org, ID: id})
		if r, err = fault.NotFound(r, err, ErrRunNotFound, "run"); err != nil {
			return r, err
		}
		if u.SetNote {
			if r, err = q.UpdateLedgerRunNote(ctx, db.UpdateLedgerRunNoteParams{OrganizationID: org, ID: id, Note: u.Note}); err != nil {
				return r, fmt.Errorf("update run note: %w", err)
			}
			if err := s.audit(ctx, q, r, u.Actor, "ledger_run.note_updated", "Run note updated.", map[string]any{"note": u.Note}); err != nil {
				return r, err
			}
		}
		if u.Close && r.Status != RunClosed {
			moved, err := q.MoveLedgerRun(ctx, db.MoveLedgerRunParams{ID: id, Status: RunClosed, FromStatuses: []string{RunCompleted, RunFailed}})
			if errors.Is(err, pgx.ErrNoRows) {
				return r, &fault.StateError{Object: "run", Action: "close", Status: r.Status}
			}
			if err != nil {
				return r, fmt.Errorf("close run: %w", err)
			}
			r = moved
			if err := s.audit(ctx, q, r, u.Actor, "ledger_run.closed", "Run closed.", nil); err != nil {
				return r, err
			}
		}
		return r, nil
	}, nil)
}

// DeleteRun removes a run that is not running: at once, its matches
// release their GL entries; its rows (lines, matches, discrepancies, files)
// are purged by the returned task, to enqueue after commit.
func (s *Service) DeleteRun(ctx context.Context, org, id uuid.UUID, actor string) (db.LedgerRun, tasks.Job, error) {
	var job tasks.Job
	r, err := txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.LedgerRun, error) {
		q := s.q.WithTx(tx)
		r, err := q.DeleteLedgerRun(ctx, db.DeleteLedgerRunParams{OrganizationID: org, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			cur, gerr := s.GetRun(ctx, org, id)
			if gerr != nil {
				return cur, gerr
			}
			return cur, &fault.StateError{Object: "run", Action: "delete", Status: cur.Status}
		}
		if err != nil {
			return r, fmt.Errorf("delete run: %w", err)
		}
		if err := q.ReleaseRunMatches(ctx, id); err != nil {
			return r, fmt.Errorf("release run matches: %w", err)
		}
		job = NewPurgeJob(r)
		if err := tasks.Record(ctx, q, job); err != nil {
			return r, err
		}
		return r, s.audit(ctx, q, r, actor, "ledger_run.deleted", "Run deleted; its matches no longer hold GL entries.", nil)
	}, nil)
	return r, job, err
}

// open reads a run that may still change (not closed).
func (s *Service) open(ctx context.Context, q *db.Queries, org, id uuid.UUID, action string) (db.LedgerRun, error) {
	r, err := q.GetLedgerRun(ctx, db.GetLedgerRunParams{OrganizationID: org, ID: id})
	if r, err = fault.NotFound(r, err, ErrRunNotFound, "run"); err != nil {
		return r, err
	}
	if r.Status == RunClosed {
		return r, &fault.StateError{Object: "run", Action: action, Status: r.Status}
	}
	return r, nil
}

// SourceUpload is a validated statement file for a run.
type SourceUpload struct {
	RunID          uuid.UUID
	FileName       string
	Format         string
	Content        []byte
	IdempotencyKey *string
	CreatedBy      string
	// Notify is the waiter channel the parse task publishes its outcome
	// on ("" : nobody waits).
	Notify string
}

// SourceSubmitted is a stored source, whether the same file was in the
// run already, and the parse task to enqueue after commit.
type SourceSubmitted struct {
	Source    db.LedgerRunSource
	Duplicate bool
	Job       *tasks.Job
}

// SubmitSource stores a statement file for a run with its parse task in
// the outbox. The same file twice in a run is the same source.
func (s *Service) SubmitSource(ctx context.Context, org uuid.UUID, u SourceUpload, finish txn.Finish[SourceSubmitted]) (SourceSubmitted, error) {
	sum := sha256.Sum256(u.Content)
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (SourceSubmitted, error) {
		q := s.q.WithTx(tx)
		r, err := s.open(ctx, q, org, u.RunID, "upload a file to")
		if err != nil {
			return SourceSubmitted{}, err
		}
		src, err := q.InsertRunSource(ctx, db.InsertRunSourceParams{
			OrganizationID: org, RunID: r.ID, FileName: u.FileName, Format: u.Format, ContentSha256: sum[:],
			SizeBytes: int64(len(u.Content)), IdempotencyKey: u.IdempotencyKey, CreatedBy: u.CreatedBy,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			src, err = q.GetRunSourceBySHA(ctx, db.GetRunSourceBySHAParams{RunID: r.ID, ContentSha256: sum[:]})
			return SourceSubmitted{Source: src, Duplicate: true}, err
		}
		if err != nil {
			return SourceSubmitted{}, fmt.Errorf("record source file: %w", err)
		}
		if err := q.InsertRunFile(ctx, db.InsertRunFileParams{SourceID: src.ID, Content: u.Content}); err != nil {
			return SourceSubmitted{}, fmt.Errorf("store source file: %w", err)
		}
		job := NewSourceJob(src, u.Notify)
		if err := tasks.Record(ctx, q, job); err != nil {
			return SourceSubmitted{}, err
		}
		if err := s.audit(ctx, q, r, u.CreatedBy, "ledger_run.source_uploaded", fmt.Sprintf("Statement file %s uploaded.", u.FileName),
			map[string]any{"source_file_id": src.ID}); err != nil {
			return SourceSubmitted{}, err
		}
		return SourceSubmitted{Source: src, Job: &job}, nil
	}, finish)
}

// GetSource reads a run's source.
func (s *Service) GetSource(ctx context.Context, org, runID, id uuid.UUID) (db.LedgerRunSource, error) {
	src, err := s.q.GetRunSource(ctx, db.GetRunSourceParams{OrganizationID: org, RunID: runID, ID: id})
	return fault.NotFound(src, err, ErrSourceNotFound, "source file")
}

// Sources lists a run's source files in upload order.
func (s *Service) Sources(ctx context.Context, org, runID uuid.UUID) ([]db.LedgerRunSource, error) {
	if _, err := s.GetRun(ctx, org, runID); err != nil {
		return nil, err
	}
	rows, err := s.q.ListRunSources(ctx, db.ListRunSourcesParams{OrganizationID: org, RunID: runID})
	if err != nil {
		return nil, fmt.Errorf("list source files: %w", err)
	}
	return rows, nil
}

// DeleteSource removes a source file with its lines, the matches that hold
// any of them (whole: their GL entries are free again) and its
// discrepancies.
func (s *Service) DeleteSource(ctx context.Context, org, runID, id uuid.UUID, actor string) (db.LedgerRunSource, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.LedgerRunSource, error) {
		q := s.q.WithTx(tx)
		r, err := s.open(ctx, q, org, runID, "delete a file of")
		if err != nil {
			return db.LedgerRunSource{}, err
		}
		if r.Status == RunRunning {
			return db.LedgerRunSource{}, &fault.StateError{Object: "run", Action: "delete a file of", Status: r.Status}
		}
		if _, err := s.GetSource(ctx, org, runID, id); err != nil {
			return db.LedgerRunSource{}, err
		}
		if err := q.DeleteSourceMatches(ctx, id); err != nil {
			return db.LedgerRunSource{}, fmt.Errorf("delete matches of source: %w", err)
		}
		if err := q.DeleteSourceDiscrepancies(ctx, db.DeleteSourceDiscrepanciesParams{RunID: runID, SourceID: id}); err != nil {
			return db.LedgerRunSource{}, fmt.Errorf("delete discrepancies of source: %w", err)
		}
		if err := q.DeleteSourceItems(ctx, id); err != nil {
			return db.LedgerRunSource{}, fmt.Errorf("delete lines of source: %w", err)
		}
		src, err := q.DeleteRunSource(ctx, db.DeleteRunSourceParams{OrganizationID: org, RunID: runID, ID: id})
		if err != nil {
			return src, fmt.Errorf("delete source: %w", err)
		}
		if err := q.RecountLedgerRun(ctx, runID); err != nil {
			return src, fmt.Errorf("count run matches: %w", err)
		}
		return src, s.audit(ctx, q, r, actor, "ledger_run.source_deleted", fmt.Sprintf("Statement file %s deleted with its lines and their matches.", src.FileName),
			map[string]any{"source_file_id": id})
	}, nil)
}

// RequestAutoMatch records an auto-match task for a run that is not
// closed, to enqueue after commit. A request while the run is matching
// queues another pass, which waits for the first and takes what it left
// (Worker.AutoMatch).
func (s *Service) RequestAutoMatch(ctx context.Context, org, runID uuid.UUID, actor, notify string) (tasks.Job, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (tasks.Job, error) {
		q := s.q.WithTx(tx)
		r, err := s.open(ctx, q, org, runID, "auto-match")
		if err != nil {
			return tasks.Job{}, err
		}
		job := NewAutoMatchJob(r, notify)
		if err := tasks.Record(ctx, q, job); err != nil {
			return job, err
		}
		return job, s.audit(ctx, q, r, actor, "ledger_run.auto_match_requested", "Auto-match requested.", nil)
	}, nil)
}

// Page is a page of rows and the total.
type Page[T any] struct {
	Rows  []T
	Total int64
}

// Items returns a page of a run's lines with their match status.
func (s *Service) Items(ctx context.Context, org, runID uuid.UUID, limit, offset int) (Page[db.RunItemsRow], error) {
	if _, err := s.GetRun(ctx, org, runID); err != nil {
		return Page[db.RunItemsRow]{}, err
	}
	total, err := s.q.CountRunItems(ctx, db.CountRunItemsParams{OrganizationID: org, RunID: runID})
	if err != nil {
		return Page[db.RunItemsRow]{}, fmt.Errorf("count items: %w", err)
	}
	rows, err := s.q.RunItems(ctx, db.RunItemsParams{OrganizationID: org, RunID: runID, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return Page[db.RunItemsRow]{}, fmt.Errorf("list items: %w", err)
	}
	return Page[db.RunItemsRow]{rows, total}, nil
}

// GLEntries returns a page of the GL entries of the run's ledger (and
// account): all of them, or only those no active match holds (freeOnly).
func (s *Service) GLEntries(ctx context.Context, org, runID uuid.UUID, freeOnly bool, limit, offset int) (Page[db.RunGLEntriesRow], error) {
	r, err := s.GetRun(ctx, org, runID)
	if err != nil {
		return Page[db.RunGLEntriesRow]{}, err
	}
	total, err := s.q.CountRunGLEntries(ctx, db.CountRunGLEntriesParams{OrganizationID: org, LedgerID: r.LedgerID, AccountID: r.AccountID, FreeOnly: freeOnly})
	if err != nil {
		return Page[db.RunGLEntriesRow]{}, fmt.Errorf("count GL entries: %w", err)
	}
	rows, err := s.q.RunGLEntries(ctx, db.RunGLEntriesParams{OrganizationID: org, LedgerID: r.LedgerID, AccountID: r.AccountID, FreeOnly: freeOnly,
		Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return Page[db.RunGLEntriesRow]{}, fmt.Errorf("list GL entries: %w", err)
	}
	return Page[db.RunGLEntriesRow]{rows, total}, nil
}

// Matches returns a page of a run's matches (status nil: all).
func (s *Service) Matches(ctx context.Context, org, runID uuid.UUID, status *string, limit, offset int) (Page[db.RunMatchesRow], error) {
	if _, err := s.GetRun(ctx, org, runID); err != nil {
		return Page[db.RunMatchesRow]{}, err
	}
	total, err := s.q.CountRunMatches(ctx, db.CountRunMatchesParams{OrganizationID: org, RunID: runID, Status: status})
	if err != nil {
		return Page[db.RunMatchesRow]{}, fmt.Errorf("count matches: %w", err)
	}
	rows, err := s.q.RunMatches(ctx, db.RunMatchesParams{OrganizationID: org, RunID: runID, Status: status, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return Page[db.RunMatchesRow]{}, fmt.Errorf("list matches: %w", err)
	}
	return Page[db.RunMatchesRow]{rows, total}, nil
}

// DiscrepancyFilter narrows Discrepancies.
type DiscrepancyFilter struct {
	Type   *string
	Status *string
}

// Discrepancies returns a page of a run's discrepancies.
func (s *Service) Discrepancies(ctx context.Context, org, runID uuid.UUID, f DiscrepancyFilter, limit, offset int) (Page[db.LedgerDiscrepancy], error) {
	if _, err := s.GetRun(ctx, org, runID); err != nil {
		return Page[db.LedgerDiscrepancy]{}, err
	}
	total, err := s.q.CountRunDiscrepancies(ctx, db.CountRunDiscrepanciesParams{OrganizationID: org, RunID: runID, Type: f.Type, Status: f.Status})
	if err != nil {
		return Page[db.LedgerDiscrepancy]{}, fmt.Errorf("count discrepancies: %w", err)
	}
	rows, err := s.q.RunDiscrepancies(ctx, db.RunDiscrepanciesParams{OrganizationID: org, RunID: runID, Type: f.Type, Status: f.Status,
		Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return Page[db.LedgerDiscrepancy]{}, fmt.Errorf("list discrepancies: %w", err)
	}
	return Page[db.LedgerDiscrepancy]{rows, total}, nil
}

// ManualMatch links statement lines of a run to GL entries of its ledger,
// accepted at once. Every id must be the run's (lines) or the ledger's
// (entries), in one currency, and in no other active match.
func (s *Service) ManualMatch(ctx context.Context, org, runID uuid.UUID, itemIDs, entryIDs []uuid.UUID, note *string, actor string) (db.GetLedgerMatchRow, error) {
	var id uuid.UUID
	_, err := txn.Run(ctx, s.pool, func(tx pgx.Tx) (struct{}, error) {
		q := s.q.WithTx(tx)
		r, err := s.open(ctx, q, org, runID, "match in")
		if err != nil {
			return struct{}{}, err
		}
		items, err := q.RunItemsByIDs(ctx, db.RunItemsByIDsParams{RunID: runID, Ids: itemIDs})
		if err != nil {
			return struct{}{}, fmt.Errorf("read lines: %w", err)
		}
		entries, err := q.LedgerEntriesByIDs(ctx, db.LedgerEntriesByIDsParams{LedgerID: r.LedgerID, Ids: entryIDs})
		if err != nil {
			return struct{}{}, fmt.Errorf("read GL entries: %w", err)
		}
		if missing := missingIDs(itemIDs, items, func(i db.RunItemsByIDsRow) uuid.UUID { return i.ID }); len(missing) > 0 {
			return struct{}{}, &fault.InputError{Path: []string{"source_entry_ids"}, Msg: fmt.Sprintf("Not lines of this run: %s.", joinIDs(missing))}
		}
		if missing := missingIDs(entryIDs, entries, func(e db.LedgerEntriesByIDsRow) uuid.UUID { return e.ID }); len(missing) > 0 {
			return struct{}{}, &fault.InputError{Path: []string{"ledger_entry_ids"}, Msg: fmt.Sprintf("Not GL entries of the run's ledger: %s.", joinIDs(missing))}
		}
		currency := items[0].Currency
		stmtSum, glSum := decimal.Zero, decimal.Zero
		for _, it := range items {
			if it.ClosedAt != nil {
				return struct{}{}, &fault.StateError{Object: "line", Action: "match", Status: "closed"}
			}
			if it.Currency != currency {
				return struct{}{}, &fault.InputError{Path: []string{"source_entry_ids"}, Msg: "The lines and entries of a match share one currency."}
			}
			if it.Direction == "credit" {
				stmtSum = stmtSum.Add(it.Amount.Dec())
			} else {
				stmtSum = stmtSum.Sub(it.Amount.Dec())
			}
		}
		for _, e := range entries {
			if r.AccountID != nil && e.AccountID != *r.AccountID {
				return struct{}{}, &fault.InputError{Path: []string{"ledger_entry_ids"}, Msg: fmt.Sprintf("GL entry %s is not of the run's account.", e.ID)}
			}
			if e.Currency != currency {
				return struct{}{}, &fault.InputError{Path: []string{"ledger_entry_ids"}, Msg: "The lines and entries of a match share one currency."}
			}
			if e.Direction == "debit" {
				glSum = glSum.Add(e.Amount.Dec())
			} else {
				glSum = glSum.Sub(e.Amount.Dec())
			}
		}
		reason := fmt.Sprintf("Matched by hand: %d line(s), %d GL entr(ies), %s %s.", len(items), len(entries), stmtSum.String(), currency)
		if !stmtSum.Equal(glSum) {
			reason = fmt.Sprintf("Matched by hand: %d line(s) total %s %s, %d GL entr(ies) total %s: %s apart.", len(items), stmtSum, currency,
				len(entries), glSum, stmtSum.Sub(glSum))
		}
		id, _ = uuid.NewV7()
		m, err := q.InsertLedgerMatch(ctx, db.InsertLedgerMatchParams{
			ID: id, OrganizationID: org, RunID: runID, Reason: reason, Note: note, Amount: numeric.From(stmtSum.Abs()), Currency: currency, CreatedBy: actor,
		})
		if err != nil {
			return struct{}{}, fmt.Errorf("record match: %w", err)
		}
		members := make([]db.CopyMatchMembersParams, 0, len(items)+len(entries))
		for _, it := range items {
			members = append(members, db.CopyMatchMembersParams{MatchID: m.ID, RunID: runID, ItemID: &it.ID})
		}
		for _, e := range entries {
			members = append(members, db.CopyMatchMembersParams{MatchID: m.ID, RunID: runID, EntryID: &e.ID})
		}
		if _, err := q.CopyMatchMembers(ctx, members); err != nil {
			if fault.UniqueViolation(err) {
				return struct{}{}, &fault.ConflictError{Code: "entry_already_matched", Msg: "A line or GL entry of this match is in another active match; reject that match first."}
			}
			return struct{}{}, fmt.Errorf("record match members: %w", err)
		}
		if err := q.RecountLedgerRun(ctx, runID); err != nil {
			return struct{}{}, fmt.Errorf("count run matches: %w", err)
		}
		return struct{}{}, s.audit(ctx, q, r, actor, "ledger_match.created", reason, map[string]any{"match_id": m.ID, "source_entry_ids": itemIDs, "ledger_entry_ids": entryIDs})
	}, nil)
	if err != nil {
		return db.GetLedgerMatchRow{}, err
	}
	return s.GetMatch(ctx, org, id)
}

// GetMatch reads a match with its sides.
func (s *Service) GetMatch(ctx context.Context, org, id uuid.UUID) (db.GetLedgerMatchRow, error) {
	m, err := s.q.GetLedgerMatch(ctx, db.GetLedgerMatchParams{OrganizationID: org, ID: id})
	return fault.NotFound(m, err, ErrMatchNotFound, "match")
}

// DecideMatch accepts a suggested match, or rejects a suggested or
// accepted one (its lines and entries are free again).
func (s *Service) DecideMatch(ctx context.Context, org, id uuid.UUID, accept bool, actor string) (db.GetLedgerMatchRow, error) {
	status, from, action := MatchAccepted, []string{MatchSuggested}, "accept"
	if !accept {
		status, from, action = MatchRejected, []string{MatchSuggested, MatchAccepted}, "reject"
	}
	_, err := txn.Run(ctx, s.pool, func(tx pgx.Tx) (struct{}, error) {
		q := s.q.WithTx(tx)
		m, err := q.GetLedgerMatch(ctx, db.GetLedgerMatchParams{OrganizationID: org, ID: id})
		if m, err = fault.NotFound(m, err, ErrMatchNotFound, "match"); err != nil {
			return struct{}{}, err
		}
		r, err := s.open(ctx, q, org, m.RunID, action+" a match of")
		if err != nil {
			return struct{}{}, err
		}
		if _, err := q.DecideLedgerMatch(ctx, db.DecideLedgerMatchParams{ID: id, Status: status, DecidedBy: &actor, FromStatuses: from}); errors.Is(err, pgx.ErrNoRows) {
			return struct{}{}, &fault.StateError{Object: "match", Action: action, Status: m.Status}
		} else if err != nil {
			return struct{}{}, fmt.Errorf("%s match: %w", action, err)
		}
		if !accept {
			if err := q.DeactivateMatchMembers(ctx, id); err != nil {
				return struct{}{}, fmt.Errorf("release match: %w", err)
			}
			if err := q.RecountLedgerRun(ctx, r.ID); err != nil {
				return struct{}{}, fmt.Errorf("count run matches: %w", err)
			}
		}
		return struct{}{}, s.audit(ctx, q, r, actor, "ledger_match."+status, fmt.Sprintf("Match %s %s.", id, status), map[string]any{"match_id": id})
	}, nil)
	if err != nil {
		return db.GetLedgerMatchRow{}, err
	}
	return s.GetMatch(ctx, org, id)
}

// NoteMatch sets a match's note.
func (s *Service) NoteMatch(ctx context.Context, org, id uuid.UUID, note *string, actor string) (db.GetLedgerMatchRow, error) {
	_, err := txn.Run(ctx, s.pool, func(tx pgx.Tx) (struct{}, error) {
		q := s.q.WithTx(tx)
		cur, err := q.GetLedgerMatch(ctx, db.GetLedgerMatchParams{OrganizationID: org, ID: id})
		if _, err = fault.NotFound(cur, err, ErrMatchNotFound, "match"); err != nil {
			return struct{}{}, err
		}
		r, err := s.open(ctx, q, org, cur.RunID, "note a match of")
		if err != nil {
			return struct{}{}, err
		}
		if _, err := q.UpdateLedgerMatchNote(ctx, db.UpdateLedgerMatchNoteParams{OrganizationID: org, ID: id, Note: note}); err != nil {
			return struct{}{}, fmt.Errorf("note match: %w", err)
		}
		return struct{}{}, s.audit(ctx, q, r, actor, "ledger_match.note_updated", fmt.Sprintf("Note of match %s updated.", id), map[string]any{"match_id": id, "note": note})
	}, nil)
	if err != nil {
		return db.GetLedgerMatchRow{}, err
	}
	return s.GetMatch(ctx, org, id)
}

// CloseItem closes a line by hand (a bank fee nobody books, say): it is
// then neither matched nor a discrepancy. A line in an active match is
// not closed; reject the match first.
func (s *Service) CloseItem(ctx context.Context, org, id uuid.UUID, ledgerID *uuid.UUID, reason string, note *string, actor string) (db.LedgerRunItem, error) {
	return s.moveItem(ctx, org, id, ledgerID, true, func(q *db.Queries) (db.LedgerRunItem, error) {
		return q.CloseRunItem(ctx, db.CloseRunItemParams{ID: id, Reason: &reason, Note: note, ClosedBy: &actor})
	}, actor, map[string]any{"reason": reason, "note": note})
}

// GetItem reads one line (of a run that is not deleted) with its run's
// ledger.
func (s *Service) GetItem(ctx context.Context, org, id uuid.UUID) (db.GetRunItemRow, error) {
	it, err := s.q.GetRunItem(ctx, db.GetRunItemParams{OrganizationID: org, ID: id})
	return fault.NotFound(it, err, ErrItemNotFound, "item")
}

// ReopenItem undoes CloseItem.
func (s *Service) ReopenItem(ctx context.Context, org, id uuid.UUID, actor string) (db.LedgerRunItem, error) {
	return s.moveItem(ctx, org, id, nil, false, func(q *db.Queries) (db.LedgerRunItem, error) {
		return q.ReopenRunItem(ctx, id)
	}, actor, nil)
}

func (s *Service) moveItem(ctx context.Context, org, id uuid.UUID, ledgerID *uuid.UUID, closing bool, move func(*db.Queries) (db.LedgerRunItem, error), actor string, payload map[string]any) (db.LedgerRunItem, error) {
	action, event := "reopen", "ledger_item.reopened"
	if closing {
		action, event = "close", "ledger_item.closed"
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.LedgerRunItem, error) {
		q := s.q.WithTx(tx)
		it, err := q.GetRunItem(ctx, db.GetRunItemParams{OrganizationID: org, ID: id})
		if it, err = fault.NotFound(it, err, ErrItemNotFound, "item"); err != nil {
			return db.LedgerRunItem{}, err
		}
		if ledgerID != nil && *ledgerID != it.LedgerID {
			return db.LedgerRunItem{}, &fault.InputError{Path: []string{"ledger_id"}, Msg: "The item is not of this ledger's runs."}
		}
		r, err := s.open(ctx, q, org, it.RunID, action+" a line of")
		if err != nil {
			return db.LedgerRunItem{}, err
		}
		if closing {
			matched, err := q.ItemInActiveMatch(ctx, &id)
			if err != nil {
				return db.LedgerRunItem{}, fmt.Errorf("look for the line's match: %w", err)
			}
			if matched {
				return db.LedgerRunItem{}, &fault.StateError{Object: "line", Action: "close", Status: "matched"}
			}
		}
		moved, err := move(q)
		if errors.Is(err, pgx.ErrNoRows) {
			status := "open"
			if it.ClosedAt != nil {
				status = "closed"
			}
			return db.LedgerRunItem{}, &fault.StateError{Object: "line", Action: action, Status: status}
		}
		if err != nil {
			return db.LedgerRunItem{}, fmt.Errorf("%s line: %w", action, err)
		}
		if payload == nil {
			payload = map[string]any{}
		}
		payload["item_id"] = id
		return moved, s.audit(ctx, q, r, actor, event, fmt.Sprintf("Line %s %sd.", id, action), payload)
	}, nil)
}

func missingIDs[T any](want []uuid.UUID, got []T, id func(T) uuid.UUID) []uuid.UUID {
	have := make(map[uuid.UUID]bool, len(got))
	for _, g := range got {
		have[id(g)] = true
	}
	var out []uuid.UUID
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

func joinIDs(ids []uuid.UUID) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// ErrDiscrepancyNotFound: no such discrepancy in the organization.
var ErrDiscrepancyNotFound = errors.New("discrepancy not found")

// DiscrepancyUpdate moves a discrepancy through review (open, in_review,
// closed) and/or sets its note.
type DiscrepancyUpdate struct {
	Status  *string
	SetNote bool
	Note    *string
	Actor   string
}

// UpdateDiscrepancy records a reviewer's progress on a discrepancy. A
// reviewed one (in_review or closed) is kept when auto-match runs again.
func (s *Service) UpdateDiscrepancy(ctx context.Context, org, id uuid.UUID, u DiscrepancyUpdate) (db.LedgerDiscrepancy, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.LedgerDiscrepancy, error) {
		q := s.q.WithTx(tx)
		d, err := q.GetLedgerDiscrepancy(ctx, db.GetLedgerDiscrepancyParams{OrganizationID: org, ID: id})
		if d, err = fault.NotFound(d, err, ErrDiscrepancyNotFound, "discrepancy"); err != nil {
			return d, err
		}
		r, err := s.open(ctx, q, org, d.RunID, "review a discrepancy of")
		if err != nil {
			return d, err
		}
		updated, err := q.UpdateLedgerDiscrepancy(ctx, db.UpdateLedgerDiscrepancyParams{OrganizationID: org, ID: id, Status: u.Status,
			SetNote: u.SetNote, Note: u.Note})
		if err != nil {
			return d, fmt.Errorf("update discrepancy: %w", err)
		}
		return updated, s.audit(ctx, q, r, u.Actor, "ledger_discrepancy.updated",
			fmt.Sprintf("Discrepancy %s (%s) is %s.", id, updated.Type, updated.Status),
			map[string]any{"discrepancy_id": id, "from": d.Status, "to": updated.Status, "note": u.Note})
	}, nil)
}

// LatestOpenRun is a ledger's newest run that is not closed.
func (s *Service) LatestOpenRun(ctx context.Context, org, ledgerID uuid.UUID) (db.LedgerRun, error) {
	if _, err := s.GetLedger(ctx, org, ledgerID); err != nil {
		return db.LedgerRun{}, err
	}
	r, err := s.q.LatestOpenLedgerRun(ctx, db.LatestOpenLedgerRunParams{OrganizationID: org, LedgerID: ledgerID})
	return fault.NotFound(r, err, ErrRunNotFound, "run")
}
