package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// ErrNotFound: no such raw record in the organization.
var ErrNotFound = errors.New("evidence not found")

// Match statuses of a raw record.
const (
	StatusQueued    = "queued"
	StatusMatched   = "matched"
	StatusUnmatched = "unmatched"
	StatusAmbiguous = "ambiguous"
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
}

// Receipt is the stored raw record, whether it had been received before, and
// (for new evidence) the match task to enqueue after commit.
type Receipt struct {
	Raw       db.RawRecord
	Duplicate bool
	Outcome   Outcome
	Job       tasks.Job
}

// Accept stores the raw record and its match task in the outbox, in one
// transaction; evidence already received under (source, sourceRef) is
// answered with the original and stores nothing.
func (s *Service) Accept(ctx context.Context, sub Submission, finish txn.Finish[Receipt]) (Receipt, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Receipt, error) {
		q := s.q.WithTx(tx)
		raw, err := q.InsertRawRecord(ctx, db.InsertRawRecordParams{
			OrganizationID: sub.OrganizationID, Source: sub.Source, SourceRef: sub.SourceRef,
			Payload: sub.Payload, SignatureValid: sub.SignatureValid,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			raw, err = q.GetRawRecordBySourceRef(ctx, db.GetRawRecordBySourceRefParams{
				OrganizationID: sub.OrganizationID, Source: sub.Source, SourceRef: sub.SourceRef,
			})
			if err != nil {
				return Receipt{}, fmt.Errorf("read original evidence: %w", err)
			}
			out, err := OutcomeOf(ctx, q, raw)
			return Receipt{Raw: raw, Duplicate: true, Outcome: out}, err
		}
		if err != nil {
			return Receipt{}, fmt.Errorf("store evidence: %w", err)
		}
		job := tasks.NewEvidenceMatch(tasks.EvidenceMatch{OrganizationID: raw.OrganizationID, RawRecordID: raw.ID})
		if err := tasks.Record(ctx, q, job); err != nil {
			return Receipt{}, err
		}
		return Receipt{Raw: raw, Job: job, Outcome: Outcome{
			RawRecordID: raw.ID, Status: StatusQueued, FlowLegIDs: []uuid.UUID{}, MatchedCaseIDs: []uuid.UUID{},
		}}, nil
	}, finish)
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
		out.FlowLegIDs = append(out.FlowLegIDs, l.ID)
		if l.CaseID != nil && !slices.Contains(out.MatchedCaseIDs, *l.CaseID) {
			out.MatchedCaseIDs = append(out.MatchedCaseIDs, *l.CaseID)
		}
	}
	return out, nil
}
