// Package cases reads reconciliation cases and applies the actions people
// take on them (notes, resolve, reopen, archive, rerun). Every change locks
// the case row, bumps its version and appends an audit event in the same
// transaction.
package cases

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/caseevent"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// ErrNotFound: no such case in the organization.
var ErrNotFound = errors.New("reconciliation case not found")

// Case statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	StatusArchived = "archived"
)

// TransitionError: the action makes no sense in the case's status.
type TransitionError struct {
	Action string
	From   string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a case that is %s", e.Action, e.From)
}

// Service owns reconciliation_cases.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	eval Evaluator
}

// Evaluator re-evaluates a case locked by the caller's transaction
// (*matcher.Service).
type Evaluator interface {
	Evaluate(ctx context.Context, q *db.Queries, c db.ReconciliationCase, actor string) (db.ReconciliationCase, error)
}

// New builds the service.
func New(pool *pgxpool.Pool, eval Evaluator) *Service {
	return &Service{pool: pool, q: db.New(pool), eval: eval}
}

// Bundle is one case with everything read alongside it.
type Bundle struct {
	Row   db.GetCaseRow
	Audit []db.AuditEvent
	Legs  []db.FlowLeg
	Links []db.MatchLink
}

// Get reads a case with its intent and audit events.
func (s *Service) Get(ctx context.Context, org, id uuid.UUID) (Bundle, error) {
	return ReadBundle(ctx, s.q, org, id)
}

// ReadBundle reads a case with q, which may be bound to a transaction (to
// render the state a change is about to commit).
func ReadBundle(ctx context.Context, q *db.Queries, org, id uuid.UUID) (Bundle, error) {
	row, err := q.GetCase(ctx, db.GetCaseParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Bundle{}, ErrNotFound
	}
	if err != nil {
		return Bundle{}, fmt.Errorf("read case: %w", err)
	}
	rel, err := related(ctx, q, org, []string{id.String()}, false)
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{Row: row, Audit: rel.Audit[id], Legs: rel.Legs[id], Links: rel.Links[id]}, nil
}

// ReadBundles reads several cases of one organization with everything
// ReadBundle reads, in four queries whatever their number. Cases that do not
// exist are absent from the map.
func ReadBundles(ctx context.Context, q *db.Queries, org uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Bundle, error) {
	rows, err := q.GetCasesByIDs(ctx, db.GetCasesByIDsParams{OrganizationID: org, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	found := make([]string, len(rows))
	for i, r := range rows {
		found[i] = r.ReconciliationCase.ID.String()
	}
	rel, err := related(ctx, q, org, found, false)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]Bundle, len(rows))
	for _, r := range rows {
		id := r.ReconciliationCase.ID
		out[id] = Bundle{Row: db.GetCaseRow(r), Audit: rel.Audit[id], Legs: rel.Legs[id], Links: rel.Links[id]}
	}
	return out, nil
}

// List returns a page of cases, their audit events by case, and the total
// matching the filters.
func (s *Service) List(ctx context.Context, p db.ListCasesParams) ([]db.ListCasesRow, Related, int64, error) {
	total, err := s.q.CountCases(ctx, countParams(p))
	if err != nil {
		return nil, Related{}, 0, fmt.Errorf("count cases: %w", err)
	}
	rows, err := s.q.ListCases(ctx, p)
	if err != nil {
		return nil, Related{}, 0, fmt.Errorf("list cases: %w", err)
	}
	rel, err := related(ctx, s.q, p.OrganizationID, caseIDs(rows), false)
	if err != nil {
		return nil, Related{}, 0, err
	}
	return rows, rel, total, nil
}

// Overview counts the organization's cases created in [from, to) (a nil
// bound is open) by status, reconciliation status, verdict and exception
// type, in one scan.
func (s *Service) Overview(ctx context.Context, org uuid.UUID, from, to *time.Time) (db.DashboardOverviewRow, error) {
	row, err := s.q.DashboardOverview(ctx, db.DashboardOverviewParams{OrganizationID: org, CreatedFrom: from, CreatedTo: to})
	if err != nil {
		return row, fmt.Errorf("case overview: %w", err)
	}
	return row, nil
}

// CreatedPerDay counts the organization's cases created per UTC day since
// from, by verdict (nil for cases not judged yet). Days without cases are
// absent.
func (s *Service) CreatedPerDay(ctx context.Context, org uuid.UUID, from time.Time) ([]db.CasesCreatedPerDayRow, error) {
	rows, err := s.q.CasesCreatedPerDay(ctx, db.CasesCreatedPerDayParams{OrganizationID: org, CreatedFrom: from})
	if err != nil {
		return nil, fmt.Errorf("cases created per day: %w", err)
	}
	return rows, nil
}

// Related is what a page of cases is rendered with, by case id.
type Related struct {
	Audit map[uuid.UUID][]db.AuditEvent
	Legs  map[uuid.UUID][]db.FlowLeg
	Links map[uuid.UUID][]db.MatchLink
	Raw   map[uuid.UUID][]db.RawRecord
}

func caseIDs(rows []db.ListCasesRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ReconciliationCase.ID.String()
	}
	return ids
}

// related reads the audit events, legs and links (and, for exports, raw
// records) of a page of cases: one query each, never one per case.
func related(ctx context.Context, q *db.Queries, org uuid.UUID, ids []string, raw bool) (Related, error) {
	rel := Related{Audit: map[uuid.UUID][]db.AuditEvent{}, Legs: map[uuid.UUID][]db.FlowLeg{},
		Links: map[uuid.UUID][]db.MatchLink{}, Raw: map[uuid.UUID][]db.RawRecord{}}
	events, err := q.AuditEventsForCases(ctx, db.AuditEventsForCasesParams{OrganizationID: org, CaseIds: ids})
	if err != nil {
		return rel, fmt.Errorf("read audit events: %w", err)
	}
	for _, e := range events {
		rel.Audit[*e.CaseID] = append(rel.Audit[*e.CaseID], e)
	}
	legs, err := q.FlowLegsForCases(ctx, db.FlowLegsForCasesParams{OrganizationID: org, CaseIds: ids})
	if err != nil {
		return rel, fmt.Errorf("read flow legs: %w", err)
	}
	for _, l := range legs {
		rel.Legs[*l.CaseID] = append(rel.Legs[*l.CaseID], l)
	}
	links, err := q.MatchLinksForCases(ctx, db.MatchLinksForCasesParams{OrganizationID: org, CaseIds: ids})
	if err != nil {
		return rel, fmt.Errorf("read match links: %w", err)
	}
	for _, l := range links {
		rel.Links[l.CaseID] = append(rel.Links[l.CaseID], l)
	}
	if raw {
		records, err := q.RawRecordsForCases(ctx, db.RawRecordsForCasesParams{OrganizationID: org, CaseIds: ids})
		if err != nil {
			return rel, fmt.Errorf("read raw records: %w", err)
		}
		for _, r := range records {
			rel.Raw[r.CaseID] = append(rel.Raw[r.CaseID], r.RawRecord)
		}
	}
	return rel, nil
}

func countParams(p db.ListCasesParams) db.CountCasesParams {
	return db.CountCasesParams{
		OrganizationID: p.OrganizationID, Status: p.Status, ReconciliationStatus: p.ReconciliationStatus,
		Verdicts: p.Verdicts, ExceptionType: p.ExceptionType, SlaRisk: p.SlaRisk,
		ExternalReference: p.ExternalReference, PaymentIntentID: p.PaymentIntentID,
		CreatedFrom: p.CreatedFrom, CreatedTo: p.CreatedTo,
	}
}

// ExportBatch is a page of cases with their audit events by case id.
type ExportBatch struct {
	Cases []db.ExportCasesRow
	Related
}

// exportPage trades round trips against memory: a page is held at once.
// 839 rows is where Go's growth of a slice of the 712-byte ExportCasesRow
// (sqlc appends row by row) stops exactly: a page allocates 2.2 rows per
// row kept, where 1,000 took 3.1 (BENCHMARKS.md, export).
const exportPage = 839

// exportAhead is how many pages may be read (by both connections) before
// the one being emitted: what memory holds at most.
const exportAhead = 4

// snapshotID is the shape of what pg_export_snapshot returns (for example
// 00000003-0000001B-1); checked before it is spliced into SET TRANSACTION
// SNAPSHOT, which takes no parameters.
var snapshotID = regexp.MustCompile(`^[0-9A-F]+(-[0-9A-F]+)+$`)

// Export walks every case matching the filters (newest first) in pages and
// hands each page to emit in order, so memory stays flat however many cases
// match (a handful of pages at most are held). It first reads where every
// page ends (and so the total); then two connections read whole pages at
// once, each a page's cases and their audit events, legs, links and raw
// records (one query each, never one per case), while emit renders the
// oldest page read. Reading one page after another on one connection, with
// the related rows on a second, kept a core waiting on Postgres. Both
// connections read one snapshot (a repeatable-read transaction whose
// snapshot the second imports, as pg_dump's parallel workers do), so the
// total always equals the number of cases emitted even while cases change.
func (s *Service) Export(ctx context.Context, p db.ListCasesParams, total func(int64) error, emit func(ExportBatch) error) error {
	ro := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	tx, err := s.pool.BeginTx(ctx, ro)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	q := s.q.WithTx(tx)
	snapshot, err := q.ExportSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("export snapshot: %w", err)
	}
	if !snapshotID.MatchString(snapshot) {
		return fmt.Errorf("export snapshot: unexpected id %q", snapshot)
	}
	tx2, err := s.pool.BeginTx(ctx, ro)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx2.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	if _, err := tx2.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snapshot+"'"); err != nil {
		return fmt.Errorf("export: import snapshot: %w", err)
	}

	ends, err := q.ExportPageEnds(ctx, db.ExportPageEndsParams{
		OrganizationID: p.OrganizationID, Status: p.Status, ReconciliationStatus: p.ReconciliationStatus,
		Verdicts: p.Verdicts, ExceptionType: p.ExceptionType, SlaRisk: p.SlaRisk,
		ExternalReference: p.ExternalReference, PaymentIntentID: p.PaymentIntentID,
		CreatedFrom: p.CreatedFrom, CreatedTo: p.CreatedTo, PageSize: exportPage,
	})
	if err != nil {
		return fmt.Errorf("export pages: %w", err)
	}
	var n int64
	if len(ends) > 0 {
		n = ends[len(ends)-1].N
	}
	if err := total(n); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	read := make([]chan ExportBatch, len(ends)) // page k, once read
	for k := range read {
		read[k] = make(chan ExportBatch, 1)
	}
	todo := make(chan int)
	ahead := make(chan struct{}, exportAhead)
	g.Go(func() error {
		defer close(todo)
		for k := range ends {
			if err := send(gctx, ahead, struct{}{}); err != nil {
				return err
			}
			if err := send(gctx, todo, k); err != nil {
				return err
			}
		}
		return nil
	})
	for _, q := range []*db.Queries{q, s.q.WithTx(tx2)} {
		g.Go(func() error {
			for k := range todo {
				b, err := readExportPage(gctx, q, p, ends, k)
				if err != nil {
					return err
				}
				read[k] <- b // each page once: never blocks
			}
			return nil
		})
	}
	g.Go(func() error {
		for k := range read {
			select {
			case b := <-read[k]:
				if err := emit(b); err != nil {
					return err
				}
			case <-gctx.Done():
				return gctx.Err()
			}
			<-ahead
		}
		return nil
	})
	return g.Wait()
}

// readExportPage reads page k of an export: its cases, after the end of
// page k-1 down to ends[k], and what they are rendered with.
func readExportPage(ctx context.Context, q *db.Queries, p db.ListCasesParams, ends []db.ExportPageEndsRow, k int) (ExportBatch, error) {
	ep := db.ExportCasesParams{
		OrganizationID: p.OrganizationID, Status: p.Status, ReconciliationStatus: p.ReconciliationStatus,
		Verdicts: p.Verdicts, ExceptionType: p.ExceptionType, SlaRisk: p.SlaRisk,
		ExternalReference: p.ExternalReference, PaymentIntentID: p.PaymentIntentID,
		CreatedFrom: p.CreatedFrom, CreatedTo: p.CreatedTo,
		UntilCreatedAt: ends[k].CreatedAt, UntilID: ends[k].ID, Lim: exportPage,
	}
	if k == 0 {
		ep.AfterCreatedAt, ep.AfterID = page.Page{}.Bound()
	} else {
		ep.AfterCreatedAt, ep.AfterID = ends[k-1].CreatedAt, ends[k-1].ID
	}
	rows, err := q.ExportCases(ctx, ep)
	if err != nil {
		return ExportBatch{}, fmt.Errorf("export cases: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID.String()
	}
	rel, err := related(ctx, q, p.OrganizationID, ids, true)
	if err != nil {
		return ExportBatch{}, fmt.Errorf("export: %w", err)
	}
	return ExportBatch{Cases: rows, Related: rel}, nil
}

// send hands v to the next stage unless the pipeline has stopped.
func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Action is who does what to a case.
type Action struct {
	OrganizationID uuid.UUID
	CaseID         uuid.UUID
	Actor          string
}

// allowed says which statuses each action may start from.
var allowed = map[string][]string{
	"resolve": {StatusOpen},
	"reopen":  {StatusResolved, StatusArchived},
	"archive": {StatusOpen, StatusResolved},
	"rerun":   {StatusOpen, StatusResolved},
	"note":    {StatusOpen, StatusResolved, StatusArchived},
}

// change runs one action: lock, check the transition, apply, audit.
func (s *Service) change(ctx context.Context, a Action, action string,
	apply func(q *db.Queries, c db.ReconciliationCase) (db.ReconciliationCase, audit.Event, error),
	finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.ReconciliationCase, error) {
		q := s.q.WithTx(tx)
		c, err := q.LockCase(ctx, db.LockCaseParams{OrganizationID: a.OrganizationID, ID: a.CaseID})
		if errors.Is(err, pgx.ErrNoRows) {
			return c, ErrNotFound
		}
		if err != nil {
			return c, fmt.Errorf("lock case: %w", err)
		}
		if !slices.Contains(allowed[action], c.Status) {
			return c, &TransitionError{Action: action, From: c.Status}
		}
		updated, ev, err := apply(q, c)
		if err != nil {
			return c, err
		}
		ev.OrganizationID, ev.CaseID, ev.PaymentIntentID, ev.Actor = c.OrganizationID, &c.ID, &c.PaymentIntentID, a.Actor
		if _, err := audit.Append(ctx, q, ev); err != nil {
			return c, err
		}
		return updated, nil
	}, finish)
}

func (s *Service) setStatus(ctx context.Context, a Action, action, to, eventType, message string, reason *string,
	finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return s.change(ctx, a, action, func(q *db.Queries, c db.ReconciliationCase) (db.ReconciliationCase, audit.Event, error) {
		updated, err := q.SetCaseStatus(ctx, db.SetCaseStatusParams{OrganizationID: c.OrganizationID, ID: c.ID, Status: to})
		if err != nil {
			return c, audit.Event{}, err
		}
		// A status change announces itself (a rerun's evaluation records
		// its own events).
		var events caseevent.Outbox
		if err := events.Add(c, updated); err != nil {
			return c, audit.Event{}, err
		}
		if err := events.Flush(ctx, q); err != nil {
			return c, audit.Event{}, err
		}
		payload := map[string]any{"from": c.Status, "to": to}
		if reason != nil {
			payload["reason"] = *reason
		}
		return updated, audit.Event{Type: eventType, Message: message, Payload: payload}, nil
	}, finish)
}

// Resolve closes an open case by hand.
func (s *Service) Resolve(ctx context.Context, a Action, reason *string, finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return s.setStatus(ctx, a, "resolve", StatusResolved, "case.resolved", "Case resolved manually.", reason, finish)
}

// Reopen brings a resolved or archived case back to open.
func (s *Service) Reopen(ctx context.Context, a Action, reason *string, finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return s.setStatus(ctx, a, "reopen", StatusOpen, "case.reopened", "Case reopened.", reason, finish)
}

// Archive retires a case.
func (s *Service) Archive(ctx context.Context, a Action, reason *string, finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return s.setStatus(ctx, a, "archive", StatusArchived, "case.archived", "Case archived.", reason, finish)
}

// AddNote records a note; the case shows the latest, the audit trail all.
func (s *Service) AddNote(ctx context.Context, a Action, note string, finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return s.change(ctx, a, "note", func(q *db.Queries, c db.ReconciliationCase) (db.ReconciliationCase, audit.Event, error) {
		updated, err := q.SetCaseNotes(ctx, db.SetCaseNotesParams{OrganizationID: c.OrganizationID, ID: c.ID, Notes: &note})
		return updated, audit.Event{Type: "case.note_added", Message: note, Payload: map[string]any{"note": note}}, err
	}, finish)
}

// Rerun re-evaluates the case now from its rule snapshot and its legs.
func (s *Service) Rerun(ctx context.Context, a Action, finish txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error) {
	return s.change(ctx, a, "rerun", func(q *db.Queries, c db.ReconciliationCase) (db.ReconciliationCase, audit.Event, error) {
		updated, err := s.eval.Evaluate(ctx, q, c, a.Actor)
		return updated, audit.Event{
			Type: "case.rerun", Message: "Re-evaluation requested.",
			Payload: map[string]any{"verdict": updated.Verdict, "reconciliationStatus": updated.ReconciliationStatus},
		}, err
	}, finish)
}

// AuditEvents lists audit events (newest first) and the total.
func (s *Service) AuditEvents(ctx context.Context, p db.ListAuditEventsParams) ([]db.AuditEvent, int64, error) {
	total, err := s.q.CountAuditEvents(ctx, db.CountAuditEventsParams{
		OrganizationID: p.OrganizationID, CaseID: p.CaseID, PaymentIntentID: p.PaymentIntentID,
		EventType: p.EventType, OccurredFrom: p.OccurredFrom, OccurredTo: p.OccurredTo,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("count audit events: %w", err)
	}
	rows, err := s.q.ListAuditEvents(ctx, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", err)
	}
	return rows, total, nil
}
