package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// ErrNotFound: no such raw record in the organization.
var ErrNotFound = errors.New("evidence not found")

// Match statuses of a raw record.
const (
	StatusQueued    = "queued"
	StatusMatched   = "matched"
	StatusUnmatched = "unmatched"
	StatusAmbiguous = "ambiguous"
	// StatusInvalid: an imported row that failed validation; never matched.
	StatusInvalid = "invalid"
)

// Service stores evidence as it arrives (the api side: no matching here).
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool)} }

// Submission is validated evidence to store.
type Submission struct {
	OrganizationID uuid.UUID
	Source         string
	SourceRef      string
	Payload        []byte // the request body, stored as received
	SignatureValid *bool
}

// Outcome is what became of a raw record so far.
type Outcome struct {
	RawRecordID    uuid.UUID   `json:"rawRecordId"`
	Status         string      `json:"status"`
	FlowLegIDs     []uuid.UUID `json:"flowLegIds"`
	MatchedCaseIDs []uuid.UUID `json:"matchedCaseIds"`
	// Strategy is how the matcher placed it, when it just did (metrics).
	Strategy string `json:"strategy,omitempty"`
}

// Receipt is the stored raw record, whether it had been received before, and
// (for new evidence) the match task to enqueue after commit.
type Receipt struct {
	Raw       db.RawRecord
	Duplicate bool
	Outcome   Outcome
	Job       tasks.Job
	// Completed: the idempotency record was completed with the write.
	Completed bool
}

// Respond, when given to Accept, completes an idempotency claim with the
// response to new evidence in the same statement that stores it.
type Respond struct {
	Claim  idempotency.Completion
	Render func(Receipt) (status int, body []byte)
}

// Accept stores the raw record and its match task in the outbox — one
// statement, atomic — and, with respond, the idempotency response too.
// Evidence already received under (source, sourceRef) stores nothing and is
// answered with the original.
func (s *Service) Accept(ctx context.Context, sub Submission, respond *Respond) (Receipt, error) {
	id := uuid.New()
	raw := db.RawRecord{
		ID: id, OrganizationID: sub.OrganizationID, Source: sub.Source, SourceRef: sub.SourceRef, Payload: sub.Payload,
		SignatureValid: sub.SignatureValid, MatchStatus: StatusQueued, ReceivedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
	job := tasks.NewEvidenceMatch(tasks.EvidenceMatch{OrganizationID: sub.OrganizationID, RawRecordID: id})
	r := Receipt{Raw: raw, Job: job, Outcome: Outcome{RawRecordID: id, Status: StatusQueued, FlowLegIDs: []uuid.UUID{}, MatchedCaseIDs: []uuid.UUID{}}}
	p := db.AcceptEvidenceParams{
		ID: id, OrganizationID: sub.OrganizationID, Source: sub.Source, SourceRef: sub.SourceRef, Payload: sub.Payload,
		SignatureValid: sub.SignatureValid, ReceivedAt: raw.ReceivedAt, TaskID: job.ID, TaskType: job.Type, Queue: job.Queue,
		TaskPayload: job.Payload, NextAttemptAt: raw.ReceivedAt.Add(tasks.SweepDelay),
	}
	if respond != nil {
		status, body := respond.Render(r)
		st := int32(status)
		p.ResponseStatus, p.ResponseBody = &st, body
		p.Operation, p.IdempotencyKey, p.ClaimToken = respond.Claim.Operation, respond.Claim.Key, respond.Claim.Token
	}
	res, err := s.q.AcceptEvidence(ctx, p)
	if err != nil {
		return Receipt{}, fmt.Errorf("store evidence: %w", err)
	}
	if res.Inserted == 1 {
		r.Completed = res.Completed == 1
		return r, nil
	}
	orig, err := s.q.GetRawRecordBySourceRef(ctx, db.GetRawRecordBySourceRefParams{
		OrganizationID: sub.OrganizationID, Source: sub.Source, SourceRef: sub.SourceRef,
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("read original evidence: %w", err)
	}
	out, err := OutcomeOf(ctx, s.q, orig)
	return Receipt{Raw: orig, Duplicate: true, Outcome: out}, err
}

// Get reads a raw record and what became of it.
func (s *Service) Get(ctx context.Context, org, id uuid.UUID) (db.RawRecord, Outcome, error) {
	raw, err := s.q.GetRawRecord(ctx, db.GetRawRecordParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return raw, Outcome{}, ErrNotFound
	}
	if err != nil {
		return raw, Outcome{}, fmt.Errorf("read evidence: %w", err)
	}
	out, err := OutcomeOf(ctx, s.q, raw)
	return raw, out, err
}

// OutcomeOf reads the legs of a raw record and the cases they are attached to.
func OutcomeOf(ctx context.Context, q *db.Queries, raw db.RawRecord) (Outcome, error) {
	out := Outcome{RawRecordID: raw.ID, Status: raw.MatchStatus, FlowLegIDs: []uuid.UUID{}, MatchedCaseIDs: []uuid.UUID{}}
	legs, err := q.LegsOfRawRecord(ctx, raw.ID)
	if err != nil {
		return out, fmt.Errorf("legs of raw record: %w", err)
	}
	for _, l := range legs {
		out.addLeg(l.ID, l.CaseID)
	}
	return out, nil
}

// List returns a page of raw records (newest first) with what became of each,
// and the total matching the filters.
func (s *Service) List(ctx context.Context, p db.ListRawRecordsParams) ([]db.RawRecord, map[uuid.UUID]Outcome, int64, error) {
	total, err := s.q.CountRawRecords(ctx, db.CountRawRecordsParams{
		OrganizationID: p.OrganizationID, MatchStatus: p.MatchStatus, Source: p.Source,
		ReceivedFrom: p.ReceivedFrom, ReceivedTo: p.ReceivedTo,
	})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("count evidence: %w", err)
	}
	rows, err := s.q.ListRawRecords(ctx, p)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("list evidence: %w", err)
	}
	ids := make([]string, len(rows))
	outcomes := make(map[uuid.UUID]Outcome, len(rows))
	for i, r := range rows {
		ids[i] = r.ID.String()
		outcomes[r.ID] = Outcome{RawRecordID: r.ID, Status: r.MatchStatus, FlowLegIDs: []uuid.UUID{}, MatchedCaseIDs: []uuid.UUID{}}
	}
	legs, err := s.q.LegsOfRawRecords(ctx, db.LegsOfRawRecordsParams{OrganizationID: p.OrganizationID, RawRecordIds: ids})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("legs of evidence: %w", err)
	}
	for _, l := range legs {
		o := outcomes[l.RawRecordID]
		o.addLeg(l.ID, l.CaseID)
		outcomes[l.RawRecordID] = o
	}
	return rows, outcomes, total, nil
}

// addLeg records one of the raw record's legs and the case it is attached
// to, if any.
func (o *Outcome) addLeg(id uuid.UUID, caseID *uuid.UUID) {
	o.FlowLegIDs = append(o.FlowLegIDs, id)
	if caseID != nil && !slices.Contains(o.MatchedCaseIDs, *caseID) {
		o.MatchedCaseIDs = append(o.MatchedCaseIDs, *caseID)
	}
}
