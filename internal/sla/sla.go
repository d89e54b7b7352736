// Package sla scores reconciliation cases against time: how old each open
// case is, whether it is at SLA risk, and whether a required leg is late
// (recon.ApplySLA says what each means). A sweep scores every open case with
// set-based SQL, a chunk of cases per statement, and writes only the cases
// whose outcome changes, each with an audit event and its webhook events.
package sla

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/caseevent"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/recon"
)

// Actor is the audit actor of SLA scoring.
const Actor = "system:sla"

// DefaultChunk is how many cases one scoring statement visits: large enough
// that a million cases take a hundred statements, small enough that each
// transaction (and the row locks of the cases it changes) is short.
const DefaultChunk = 10_000

// Scorer runs sweeps.
type Scorer struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	now   func() time.Time
	chunk int32
}

// New builds a scorer on the wall clock.
func New(pool *pgxpool.Pool) *Scorer {
	return &Scorer{pool: pool, q: db.New(pool), now: time.Now, chunk: DefaultChunk}
}

// WithClock makes the scorer judge by now instead of the wall clock.
func (s *Scorer) WithClock(now func() time.Time) *Scorer {
	s.now = now
	return s
}

// WithChunk sets how many cases one statement visits.
func (s *Scorer) WithChunk(n int) *Scorer {
	s.chunk = int32(n)
	return s
}

// Result is what a sweep did.
type Result struct {
	Visited int // cases scored (open ones, and closed ones still flagged)
	Changed int // cases written
	AtRisk  int // of those, now at SLA risk
	Delayed int // of those, now delayed
}

// Sweep scores every case there is to score at one instant. Each chunk
// commits on its own: a sweep cut short leaves the chunks it finished
// scored, and the next sweep does the rest (scoring is idempotent).
func (s *Scorer) Sweep(ctx context.Context) (Result, error) {
	var res Result
	at := s.now()
	after := uuid.Nil
	for {
		end, err := s.q.SLAChunkEnd(ctx, db.SLAChunkEndParams{After: after, Lim: s.chunk})
		if err != nil {
			return res, fmt.Errorf("sla sweep: next chunk: %w", err)
		}
		if end.Cases == 0 {
			return res, nil
		}
		res.Visited += int(end.Cases)
		if err := s.score(ctx, at, after, end.LastID, &res); err != nil {
			return res, err
		}
		after = end.LastID
	}
}

// score scores the cases with ids in (after, upto] and records the audit and
// webhook events of those that changed, in one transaction.
func (s *Scorer) score(ctx context.Context, at time.Time, after, upto uuid.UUID, res *Result) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		rows, err := q.ScoreSLA(ctx, db.ScoreSLAParams{ScoredAt: at, After: after, Upto: upto})
		if err != nil {
			return fmt.Errorf("sla sweep: score chunk after %s: %w", after, err)
		}
		var events caseevent.Outbox
		var trail audit.Batch
		for _, r := range rows {
			before := r.ReconciliationCase
			now := before
			now.Verdict, now.ExceptionType, now.SlaRisk = r.NewVerdict, r.NewExceptionType, r.NewSlaRisk
			now.Version, now.UpdatedAt = r.NewVersion, r.NewUpdatedAt
			if err := events.Add(before, now); err != nil {
				return err
			}
			trail.Add(audit.Event{
				OrganizationID: now.OrganizationID, CaseID: &now.ID, PaymentIntentID: &now.PaymentIntentID,
				Type: "case.sla_scored", Actor: Actor, Message: message(now, r.Age, r.Delayed),
				Payload: map[string]any{
					"slaAgeMinutes": r.Age, "slaRisk": now.SlaRisk, "delayed": r.Delayed,
					"verdict":       map[string]any{"from": before.Verdict, "to": now.Verdict},
					"exceptionType": map[string]any{"from": before.ExceptionType, "to": now.ExceptionType},
				},
			})
			res.Changed++
			if now.SlaRisk {
				res.AtRisk++
			}
			if r.Delayed {
				res.Delayed++
			}
		}
		if err := trail.Flush(ctx, q); err != nil {
			return err
		}
		return events.Flush(ctx, q)
	})
}

func message(c db.ReconciliationCase, age int64, delayed bool) string {
	switch {
	case c.SlaRisk && delayed:
		return fmt.Sprintf("Case at SLA risk and delayed: %d minutes old, a required leg is late.", age)
	case c.SlaRisk:
		return fmt.Sprintf("Case at SLA risk: %d minutes old.", age)
	case delayed:
		return fmt.Sprintf("Case delayed: %d minutes old, a required leg is late.", age)
	case c.Status != "open":
		return "Case no longer scored for SLA: it is " + c.Status + "."
	case c.ReconciliationStatus == recon.StatusReconciled:
		return "Case no longer late: it reconciled."
	}
	return fmt.Sprintf("Case no longer late at %d minutes.", age)
}
