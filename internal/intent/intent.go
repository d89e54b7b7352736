// Package intent records payment intents — what should happen — together
// with the reconciliation case, its required legs and the audit event, in
// one transaction; and enforces business uniqueness on externalReference.
package intent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/caseevent"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// ErrNotFound: no such intent in the organization.
var ErrNotFound = errors.New("payment intent not found")

// Outcomes of Create.
const (
	OutcomeCreated = "created"
	OutcomeReused  = "reused"
)

// FieldConflict is one canonical field that differs from the stored intent.
type FieldConflict struct {
	Field     string `json:"field"`
	Stored    any    `json:"stored"`
	Requested any    `json:"requested"`
}

// ConflictError: the external reference exists with other canonical fields.
type ConflictError struct {
	Existing  db.PaymentIntent
	Conflicts []FieldConflict
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("payment intent %s exists with %d different fields", e.Existing.ExternalReference, len(e.Conflicts))
}

// Service owns payment_intents and opens their cases.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	// snapshots remembers rule snapshot ids by organization and digest:
	// snapshots never change, and nearly every intent reuses one.
	snapshots sync.Map
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool)} }

// CreateInput is a validated create request.
type CreateInput struct {
	OrganizationID       uuid.UUID
	Actor                string
	ExternalReference    string
	SourceAmount         decimal.Decimal
	SourceCurrency       string
	DestinationAmount    decimal.Decimal
	DestinationCurrency  string
	PaymentType          string
	PaymentSubtype       *string
	Direction            string
	Stablecoin           *string
	Chain                *string
	BeneficiaryAccount   *string
	BeneficiaryName      *string
	ExpectedFxRate       *decimal.Decimal
	DeveloperFeeExpected *decimal.Decimal
	ProviderTransferID   *string
	TxHash               *string
	ClientCompletedAt    *time.Time
	References           []byte // JSON array
	ReferenceValues      []string
	Metadata             []byte // JSON object
}

// Result is the intent, its case and whether it was created or reused.
type Result struct {
	Intent  db.PaymentIntent
	Case    db.ReconciliationCase
	Outcome string
	// Claim, when set, is a task to enqueue after commit: evidence nobody
	// claimed exists, and some may belong to the new case.
	Claim *tasks.Job
}

// Create records the intent, or returns the stored one when the external
// reference exists with the same canonical fields, or a *ConflictError.
func (s *Service) Create(ctx context.Context, in CreateInput, finish txn.Finish[Result]) (Result, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Result, error) {
		q := s.q.WithTx(tx)
		pi, err := q.InsertPaymentIntent(ctx, db.InsertPaymentIntentParams{
			OrganizationID: in.OrganizationID, ExternalReference: in.ExternalReference,
			SourceAmount: numeric.From(in.SourceAmount), SourceCurrency: in.SourceCurrency,
			DestinationAmount: numeric.From(in.DestinationAmount), DestinationCurrency: in.DestinationCurrency,
			PaymentType: in.PaymentType, PaymentSubtype: in.PaymentSubtype, Direction: in.Direction,
			Stablecoin: in.Stablecoin, Chain: in.Chain, BeneficiaryAccount: in.BeneficiaryAccount,
			BeneficiaryName: in.BeneficiaryName, ExpectedFxRate: numeric.NullFrom(in.ExpectedFxRate),
			DeveloperFeeExpected: numeric.NullFrom(in.DeveloperFeeExpected), ProviderTransferID: in.ProviderTransferID,
			TxHash: in.TxHash, ClientCompletedAt: in.ClientCompletedAt, References: in.References, Metadata: in.Metadata,
			ReferenceValues: orEmpty(in.ReferenceValues),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return s.reuse(ctx, q, in)
		}
		if err != nil {
			return Result{}, fmt.Errorf("insert payment intent: %w", err)
		}
		c, err := s.openCase(ctx, q, pi)
		if err != nil {
			return Result{}, err
		}
		_, err = audit.Append(ctx, q, audit.Event{
			OrganizationID: pi.OrganizationID, PaymentIntentID: &pi.ID, CaseID: &c.ID,
			Type: "payment_intent.created", Actor: in.Actor,
			Message: fmt.Sprintf("Payment intent %s created for %s %s; case opened.", pi.ExternalReference,
				pi.DestinationAmount.String(), pi.DestinationCurrency),
			Payload: map[string]any{"externalReference": pi.ExternalReference, "paymentType": pi.PaymentType, "ruleId": c.RuleID},
		})
		if err != nil {
			return Result{}, err
		}
		var events caseevent.Outbox
		events.Created(c)
		if err := events.Flush(ctx, q); err != nil {
			return Result{}, err
		}
		res := Result{Intent: pi, Case: c, Outcome: OutcomeCreated}
		free, err := q.HasFreeLegs(ctx, pi.OrganizationID)
		if err != nil {
			return Result{}, fmt.Errorf("look for free evidence: %w", err)
		}
		if free {
			job := tasks.NewCaseClaim(tasks.CaseClaim{OrganizationID: pi.OrganizationID, CaseID: c.ID})
			if err := tasks.Record(ctx, q, job); err != nil {
				return Result{}, err
			}
			res.Claim = &job
		}
		return res, nil
	}, finish)
}

// openCase opens the intent's case under the rule that applies to its
// payment type, with the rule's required legs.
func (s *Service) openCase(ctx context.Context, q *db.Queries, pi db.PaymentIntent) (db.ReconciliationCase, error) {
	r, err := ruleset.Select(ctx, q, pi.OrganizationID, pi.PaymentType, nil)
	if err != nil {
		return db.ReconciliationCase{}, err
	}
	coverage, total, _ := recon.CoverageOf(r, nil)
	snapshot, _ := json.Marshal(r)
	var ruleID *uuid.UUID
	if r.ID != uuid.Nil {
		ruleID = &r.ID
	}
	snapshotID, err := s.snapshotID(ctx, q, pi.OrganizationID, snapshot)
	if err != nil {
		return db.ReconciliationCase{}, err
	}
	c, err := q.CreateCase(ctx, db.CreateCaseParams{
		OrganizationID: pi.OrganizationID, PaymentIntentID: pi.ID, ExpectedAmount: pi.DestinationAmount,
		ExpectedCurrency: pi.DestinationCurrency, RequiredLegsTotal: int32(total),
		CoverageProvider: coverage.Provider, CoverageChain: coverage.Chain, CoverageBank: coverage.Bank,
		CoverageFile: coverage.File, RuleID: ruleID, RuleSnapshotID: snapshotID,
	})
	if err != nil {
		return c, fmt.Errorf("open case: %w", err)
	}
	if err := q.InsertRequiredLegs(ctx, db.InsertRequiredLegsParams{
		CaseID: c.ID, OrganizationID: pi.OrganizationID, LegTypes: r.RequiredLegTypes,
	}); err != nil {
		return c, fmt.Errorf("required legs: %w", err)
	}
	return c, nil
}

// snapshotID stores a rule snapshot once per organization and returns its id.
func (s *Service) snapshotID(ctx context.Context, q *db.Queries, org uuid.UUID, snapshot []byte) (uuid.UUID, error) {
	digest := sha256.Sum256(snapshot)
	key := org.String() + string(digest[:])
	if id, ok := s.snapshots.Load(key); ok {
		return id.(uuid.UUID), nil
	}
	id, err := q.RuleSnapshotID(ctx, db.RuleSnapshotIDParams{OrganizationID: org, Digest: digest[:]})
	if err == nil {
		// Committed by someone: safe to remember. One this transaction
		// inserts is not, until it commits (a rollback would leave the
		// cache pointing at nothing); the next intent will find it.
		s.snapshots.Store(key, id)
		return id, nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		id, err = q.InsertRuleSnapshot(ctx, db.InsertRuleSnapshotParams{OrganizationID: org, Digest: digest[:], Snapshot: snapshot})
		if errors.Is(err, pgx.ErrNoRows) {
			id, err = q.RuleSnapshotID(ctx, db.RuleSnapshotIDParams{OrganizationID: org, Digest: digest[:]})
		}
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("rule snapshot: %w", err)
	}
	return id, nil
}

func (s *Service) reuse(ctx context.Context, q *db.Queries, in CreateInput) (Result, error) {
	pi, err := q.GetPaymentIntentByExternalReference(ctx, db.GetPaymentIntentByExternalReferenceParams{
		OrganizationID: in.OrganizationID, ExternalReference: in.ExternalReference,
	})
	if err != nil {
		return Result{}, fmt.Errorf("read existing payment intent: %w", err)
	}
	if conflicts := Compare(pi, in); len(conflicts) > 0 {
		return Result{}, &ConflictError{Existing: pi, Conflicts: conflicts}
	}
	c, err := q.GetCaseByIntent(ctx, db.GetCaseByIntentParams{OrganizationID: pi.OrganizationID, PaymentIntentID: pi.ID})
	if err != nil {
		return Result{}, fmt.Errorf("read case of payment intent: %w", err)
	}
	_, err = audit.Append(ctx, q, audit.Event{
		OrganizationID: pi.OrganizationID, PaymentIntentID: &pi.ID, CaseID: &c.ID,
		Type: "payment_intent.replayed", Actor: in.Actor,
		Message: fmt.Sprintf("Payment intent %s submitted again with the same fields; the existing intent was returned.", pi.ExternalReference),
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Intent: pi, Case: c, Outcome: OutcomeReused}, nil
}

// Compare lists the canonical fields — amounts, currencies, beneficiary,
// type, direction, chain, stablecoin — where in differs from the stored
// intent. Amounts compare by value ("100" equals "100.00").
func Compare(pi db.PaymentIntent, in CreateInput) []FieldConflict {
	var out []FieldConflict
	dec := func(field string, stored, requested decimal.Decimal) {
		if !stored.Equal(requested) {
			out = append(out, FieldConflict{field, stored.String(), requested.String()})
		}
	}
	str := func(field, stored, requested string) {
		if stored != requested {
			out = append(out, FieldConflict{field, stored, requested})
		}
	}
	opt := func(field string, stored, requested *string) {
		if deref(stored) != deref(requested) {
			out = append(out, FieldConflict{field, stored, requested})
		}
	}
	dec("sourceAmount", pi.SourceAmount.Dec(), in.SourceAmount)
	str("sourceCurrency", pi.SourceCurrency, in.SourceCurrency)
	dec("destinationAmount", pi.DestinationAmount.Dec(), in.DestinationAmount)
	str("destinationCurrency", pi.DestinationCurrency, in.DestinationCurrency)
	str("paymentType", pi.PaymentType, in.PaymentType)
	opt("paymentSubtype", pi.PaymentSubtype, in.PaymentSubtype)
	str("direction", pi.Direction, in.Direction)
	opt("stablecoin", pi.Stablecoin, in.Stablecoin)
	opt("chain", pi.Chain, in.Chain)
	opt("beneficiaryAccount", pi.BeneficiaryAccount, in.BeneficiaryAccount)
	opt("beneficiaryName", pi.BeneficiaryName, in.BeneficiaryName)
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Get reads one intent.
func (s *Service) Get(ctx context.Context, org, id uuid.UUID) (db.PaymentIntent, error) {
	pi, err := s.q.GetPaymentIntent(ctx, db.GetPaymentIntentParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return pi, ErrNotFound
	}
	return pi, err
}

// Detail is an intent with its case and audit trail.
type Detail struct {
	Intent db.PaymentIntent
	Case   db.ReconciliationCase
	Audit  []db.AuditEvent
}

// GetDetail reads an intent, its case and its audit events.
func (s *Service) GetDetail(ctx context.Context, org, id uuid.UUID) (Detail, error) {
	pi, err := s.Get(ctx, org, id)
	if err != nil {
		return Detail{}, err
	}
	c, err := s.q.GetCaseByIntent(ctx, db.GetCaseByIntentParams{OrganizationID: org, PaymentIntentID: id})
	if err != nil {
		return Detail{}, fmt.Errorf("read case: %w", err)
	}
	ev, err := s.q.AuditEventsForIntent(ctx, db.AuditEventsForIntentParams{OrganizationID: org, PaymentIntentID: &id})
	if err != nil {
		return Detail{}, fmt.Errorf("read audit events: %w", err)
	}
	return Detail{Intent: pi, Case: c, Audit: ev}, nil
}

// List returns a page of intents and the total.
func (s *Service) List(ctx context.Context, p db.ListPaymentIntentsParams) ([]db.PaymentIntent, int64, error) {
	total, err := s.q.CountPaymentIntents(ctx, db.CountPaymentIntentsParams{
		OrganizationID: p.OrganizationID, Status: p.Status, ExternalReference: p.ExternalReference,
		CreatedFrom: p.CreatedFrom, CreatedTo: p.CreatedTo,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("count payment intents: %w", err)
	}
	rows, err := s.q.ListPaymentIntents(ctx, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list payment intents: %w", err)
	}
	return rows, total, nil
}
