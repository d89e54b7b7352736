// Package matcher is the worker side of evidence: it normalizes raw records
// into flow legs, finds and links the case each leg belongs to, and
// re-evaluates every case it touches — each raw record in one transaction,
// so a task delivered twice or killed midway leaves the state of one clean
// run. It also owns manual links and re-evaluation on request.
//
// Lock order, everywhere: the raw record first, then cases in id order. Two
// pieces of evidence for one case serialize on the case row; one piece of
// evidence is never handled twice at once.
package matcher

import (
	"context"
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
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/match"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// Errors the API maps to responses.
var (
	ErrRawRecordNotFound = errors.New("raw record not found")
	ErrCaseNotFound      = errors.New("reconciliation case not found")
	ErrLegNotFound       = errors.New("flow leg not found")
	ErrLinkNotFound      = errors.New("match link not found")
	// ErrCaseArchived: evidence is not linked by hand to a retired case
	// (reopen it first).
	ErrCaseArchived = errors.New("reconciliation case is archived")
)

// LinkedElsewhereError: the leg is attached to another case already.
type LinkedElsewhereError struct{ CaseID uuid.UUID }

func (e *LinkedElsewhereError) Error() string {
	return fmt.Sprintf("the flow leg is linked to case %s; unlink it there first", e.CaseID)
}

// LinkStateError: the link is not active (already unlinked or only suggested).
type LinkStateError struct{ Status string }

func (e *LinkStateError) Error() string {
	return fmt.Sprintf("the match link is %s, not active", e.Status)
}

// ActorSystem is the audit actor of automatic matching.
const ActorSystem = "system:matcher"

// Service matches evidence against cases.
type Service struct {
	pool      *pgxpool.Pool
	q         *db.Queries
	snapshots sync.Map // rule snapshot id → rule.Rule (snapshots never change)
	// now is the clock SLA overlays are judged by (tests move it).
	now func() time.Time
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool), now: time.Now} }

// WithClock makes the service judge SLAs by now instead of the wall clock.
func (s *Service) WithClock(now func() time.Time) *Service {
	s.now = now
	return s
}

// Outcome is what became of a raw record.
type Outcome = evidence.Outcome

// Process normalizes and matches one raw record; taskID's outbox row is
// cleared in the same transaction. A record processed before (a redelivered
// task) changes nothing and reports its outcome again.
func (s *Service) Process(ctx context.Context, org, rawID uuid.UUID, taskID string) (Outcome, error) {
	var out Outcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		raw, err := q.LockRawRecord(ctx, db.LockRawRecordParams{OrganizationID: org, ID: rawID})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRawRecordNotFound
		}
		if err != nil {
			return fmt.Errorf("lock raw record: %w", err)
		}
		if raw.ProcessedAt != nil {
			out, err = evidence.OutcomeOf(ctx, q, raw)
			if err != nil {
				return err
			}
			return tasks.Done(ctx, q, taskID)
		}
		w := &work{q: q}
		if out, err = s.process(ctx, w, raw); err != nil {
			return err
		}
		if err := w.flush(ctx); err != nil {
			return err
		}
		return q.FinishRawRecord(ctx, db.FinishRawRecordParams{
			OrganizationID: raw.OrganizationID, ID: raw.ID, MatchStatus: out.Status, TaskID: taskID,
		})
	})
	return out, err
}

// work is one matcher transaction: its queries, and the audit events that
// are written in one statement just before commit.
type work struct {
	q     *db.Queries
	audit audit.Batch
}

func (w *work) flush(ctx context.Context) error { return w.audit.Flush(ctx, w.q) }

func (s *Service) process(ctx context.Context, w *work, raw db.RawRecord) (Outcome, error) {
	out := Outcome{RawRecordID: raw.ID, FlowLegIDs: []uuid.UUID{}, MatchedCaseIDs: []uuid.UUID{}}
	received := receivedEvent(raw, nil, nil)
	leg, err := evidence.Normalize(raw.Source, raw.Payload, raw.ReceivedAt)
	if err != nil {
		// The api validated the payload, so this is a bug, not bad input:
		// keep the record visible as unmatched and explain why, rather than
		// retrying forever.
		received.Message += " It could not be normalized: " + err.Error()
		w.audit.Add(received)
		out.Status = match.Unmatched
		return out, nil
	}
	fl, err := w.q.InsertFlowLeg(ctx, legParams(raw, leg))
	if err != nil {
		return out, fmt.Errorf("insert flow leg: %w", err)
	}
	out.FlowLegIDs = append(out.FlowLegIDs, fl.ID)
	d, err := s.decide(ctx, w.q, fl)
	if err != nil {
		return out, err
	}
	// The evidence's own events go on the case it joins, so a case's trail
	// tells its whole story.
	if d.Kind == match.Matched {
		received.CaseID, received.PaymentIntentID = &d.Links[0].CaseID, &d.Links[0].PaymentIntentID
	}
	w.audit.Add(received)
	w.audit.Add(normalizedEvent(raw, received.CaseID, received.PaymentIntentID, fl.ID, fl.Type, fl.Status, fl.Amount, fl.Currency))
	out.Status, out.MatchedCaseIDs, err = s.apply(ctx, w, fl, d)
	if len(d.Links) > 0 {
		out.Strategy = d.Links[0].Strategy
	}
	return out, err
}

// place finds the case(s) for a free leg and links or suggests it, then
// re-evaluates them. It returns the raw record's match status and the cases
// the leg was attached to.
func (s *Service) place(ctx context.Context, w *work, fl db.FlowLeg) (string, []uuid.UUID, error) {
	d, err := s.decide(ctx, w.q, fl)
	if err != nil {
		return "", nil, err
	}
	return s.apply(ctx, w, fl, d)
}

// apply carries out a decision: link, or suggest, and re-evaluate.
func (s *Service) apply(ctx context.Context, w *work, fl db.FlowLeg, d match.Decision) (string, []uuid.UUID, error) {
	switch d.Kind {
	case match.Matched:
		l := d.Links[0]
		c, err := lockCase(ctx, w.q, fl.OrganizationID, l.CaseID)
		if err != nil {
			return "", nil, err
		}
		if err := attach(ctx, w, c.ReconciliationCase, fl, l, "active", ActorSystem); err != nil {
			return "", nil, err
		}
		if _, err := s.evaluate(ctx, w, c.ReconciliationCase, c.PaymentIntent, ActorSystem); err != nil {
			return "", nil, err
		}
		return match.Matched, []uuid.UUID{l.CaseID}, nil
	case match.Ambiguous:
		for _, l := range d.Links { // sorted by case id: the lock order
			c, err := lockCase(ctx, w.q, fl.OrganizationID, l.CaseID)
			if err != nil {
				return "", nil, err
			}
			if err := attach(ctx, w, c.ReconciliationCase, fl, l, "suggested", ActorSystem); err != nil {
				return "", nil, err
			}
			if _, err := s.evaluate(ctx, w, c.ReconciliationCase, c.PaymentIntent, ActorSystem); err != nil {
				return "", nil, err
			}
		}
		return match.Ambiguous, []uuid.UUID{}, nil
	}
	return match.Unmatched, []uuid.UUID{}, nil
}

// candidateRow is the shape every Candidates* query returns.
type candidateRow = db.CandidatesByIntentIDRow

// decide looks candidates up strategy by strategy, strongest first, and
// stops at the first strategy internal/match decides on: a leg that names
// its intent costs one indexed lookup. Strategies whose key the leg lacks
// are not queried.
func (s *Service) decide(ctx context.Context, q *db.Queries, fl db.FlowLeg) (match.Decision, error) {
	leg := match.Leg{
		Amount: fl.Amount.Dec(), Currency: fl.Currency, DestinationAmount: fl.DestinationAmount.Dec(),
		DestinationCurrency: fl.DestinationCurrency, OccurredAt: fl.OccurredAt,
		NamesIntent: fl.PaymentIntentID != nil || fl.ExternalReference != nil,
	}
	org := fl.OrganizationID
	lookups := []func() ([]candidateRow, error){
		// Explicit ids: one query per key, each simple enough that its
		// generic plan is as good as a custom one (an OR of two nullable
		// keys made Postgres re-plan on every call).
		func() ([]candidateRow, error) {
			var rows []candidateRow
			if fl.PaymentIntentID != nil {
				r, err := q.CandidatesByIntentID(ctx, db.CandidatesByIntentIDParams{OrganizationID: org, ID: *fl.PaymentIntentID})
				if err != nil {
					return nil, err
				}
				rows = r
			}
			if fl.ExternalReference != nil {
				r, err := q.CandidatesByExternalReference(ctx, db.CandidatesByExternalReferenceParams{OrganizationID: org, ExternalReference: *fl.ExternalReference})
				if err != nil {
					return nil, err
				}
				rows = append(rows, convert(r)...)
			}
			return rows, nil
		},
		func() ([]candidateRow, error) {
			if fl.ProviderTransferID == nil {
				return nil, nil
			}
			rows, err := q.CandidatesByProviderTransfer(ctx, db.CandidatesByProviderTransferParams{OrganizationID: org, ProviderTransferID: fl.ProviderTransferID})
			return convert(rows), err
		},
		func() ([]candidateRow, error) {
			if fl.TxHash == nil {
				return nil, nil
			}
			rows, err := q.CandidatesByTxHash(ctx, db.CandidatesByTxHashParams{OrganizationID: org, TxHash: *fl.TxHash})
			return convert(rows), err
		},
		func() ([]candidateRow, error) {
			if len(fl.ReferenceValues) == 0 {
				return nil, nil
			}
			rows, err := q.CandidatesByReference(ctx, db.CandidatesByReferenceParams{OrganizationID: org, ReferenceValues: fl.ReferenceValues})
			return convert(rows), err
		},
		func() ([]candidateRow, error) {
			if leg.NamesIntent {
				return nil, nil // never placed by amount: it waits for its intent
			}
			// A provider's destination amount is what the intent expects.
			amount, currency := fl.Amount.Dec(), fl.Currency
			if fl.DestinationCurrency != nil && fl.DestinationAmount.Dec() != nil && fl.Type == rule.LegProvider {
				amount, currency = *fl.DestinationAmount.Dec(), *fl.DestinationCurrency
			}
			rows, err := q.CandidatesByAmount(ctx, db.CandidatesByAmountParams{
				OrganizationID: org, Amount: numeric.From(amount), Currency: currency, OccurredAt: fl.OccurredAt, LegType: fl.Type})
			return convert(rows), err
		},
	}
	for _, lookup := range lookups {
		rows, err := lookup()
		if err != nil {
			return match.Decision{}, fmt.Errorf("find candidates: %w", err)
		}
		if len(rows) == 0 {
			continue
		}
		cands := make([]match.Candidate, 0, len(rows))
		for _, r := range rows {
			rl, err := s.rule(ctx, q, org, r.RuleSnapshotID)
			if err != nil {
				return match.Decision{}, err
			}
			cands = append(cands, match.Candidate{
				Strategy: r.Strategy, CaseID: r.ID, Rule: rl, ExpectedAmount: r.ExpectedAmount.Dec(),
				ExpectedCurrency: r.ExpectedCurrency, IntentCreatedAt: r.IntentCreatedAt, ExternalReference: r.ExternalReference,
				PaymentIntentID: r.PaymentIntentID,
			})
		}
		if d := match.Decide(leg, cands); d.Kind != match.Unmatched {
			return d, nil
		}
	}
	return match.Decision{Kind: match.Unmatched}, nil
}

// convert turns a Candidates* row of any strategy into the common shape
// (sqlc generates one identical struct per query).
func convert[T ~struct {
	Strategy          string
	ID                uuid.UUID
	RuleSnapshotID    uuid.UUID
	Status            string
	ExpectedAmount    numeric.Decimal
	ExpectedCurrency  string
	IntentCreatedAt   time.Time
	ExternalReference string
	PaymentIntentID   uuid.UUID
}](rows []T) []candidateRow {
	out := make([]candidateRow, len(rows))
	for i, r := range rows {
		out[i] = candidateRow(r)
	}
	return out
}

// rule reads a rule snapshot, from memory after the first time.
func (s *Service) rule(ctx context.Context, q *db.Queries, org, id uuid.UUID) (rule.Rule, error) {
	if r, ok := s.snapshots.Load(id); ok {
		return r.(rule.Rule), nil
	}
	b, err := q.GetRuleSnapshot(ctx, db.GetRuleSnapshotParams{OrganizationID: org, ID: id})
	if err != nil {
		return rule.Rule{}, fmt.Errorf("rule snapshot %s: %w", id, err)
	}
	var r rule.Rule
	if err := json.Unmarshal(b, &r); err != nil {
		return rule.Rule{}, fmt.Errorf("rule snapshot %s: %w", id, err)
	}
	s.snapshots.Store(id, r)
	return r, nil
}

func lockCase(ctx context.Context, q *db.Queries, org, id uuid.UUID) (db.LockCaseWithIntentRow, error) {
	c, err := q.LockCaseWithIntent(ctx, db.LockCaseWithIntentParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrCaseNotFound
	}
	if err != nil {
		return c, fmt.Errorf("lock case %s: %w", id, err)
	}
	return c, nil
}

// attach writes the match link and, for an active one, attaches the leg.
func attach(ctx context.Context, w *work, c db.ReconciliationCase, fl db.FlowLeg, l match.Link, status, actor string) error {
	link, err := w.q.LinkLeg(ctx, db.LinkLegParams{
		OrganizationID: c.OrganizationID, CaseID: c.ID, FlowLegID: fl.ID, RawRecordID: fl.RawRecordID,
		Status: status, Strategy: l.Strategy, Score: numeric.From(l.Score), Reason: l.Reason, CreatedBy: actor,
	})
	if err != nil {
		return fmt.Errorf("link leg: %w", err)
	}
	if status == "active" && link.Attached != 1 {
		return fmt.Errorf("attach leg %s: already attached", fl.ID)
	}
	w.audit.Add(linkEvent(c.OrganizationID, c.ID, c.PaymentIntentID, fl.RawRecordID, link.ID, fl.ID, fl.Type, l, status, actor))
	return nil
}

// The events of one piece of evidence, the same whether it is matched on its
// own (Process) or in a batch (ProcessMany).

func receivedEvent(raw db.RawRecord, caseID, intentID *uuid.UUID) audit.Event {
	return audit.Event{
		OrganizationID: raw.OrganizationID, RawRecordID: &raw.ID, CaseID: caseID, PaymentIntentID: intentID,
		Type: "evidence.received", Actor: ActorSystem,
		Message: fmt.Sprintf("Evidence %s/%s received.", raw.Source, raw.SourceRef),
		Payload: map[string]any{"source": raw.Source, "sourceRef": raw.SourceRef},
	}
}

func normalizedEvent(raw db.RawRecord, caseID, intentID *uuid.UUID, legID uuid.UUID, legType, status string,
	amount numeric.Decimal, currency string) audit.Event {
	return audit.Event{
		OrganizationID: raw.OrganizationID, RawRecordID: &raw.ID, CaseID: caseID, PaymentIntentID: intentID,
		Type: "leg.normalized", Actor: ActorSystem,
		Message: fmt.Sprintf("Normalized into a %s leg of %s %s (%s).", legType, amount.String(), currency, status),
		Payload: map[string]any{"flowLegId": legID, "type": legType, "status": status, "amount": amount.String(), "currency": currency},
	}
}

// linkEvent records a match link made (status active) or suggested.
func linkEvent(org, caseID, intentID, rawID, linkID, legID uuid.UUID, legType string, l match.Link, status, actor string) audit.Event {
	eventType, verb := "match_link.created", "Linked"
	if status != "active" {
		eventType, verb = "match_link.suggested", "Suggested"
	}
	return audit.Event{
		OrganizationID: org, CaseID: &caseID, PaymentIntentID: &intentID, RawRecordID: &rawID,
		Type: eventType, Actor: actor,
		Message: fmt.Sprintf("%s %s leg by %s (score %s): %s", verb, legType, l.Strategy, l.Score.String(), l.Reason),
		Payload: map[string]any{"matchLinkId": linkID, "flowLegId": legID, "strategy": l.Strategy, "score": l.Score.String()},
	}
}

// Evaluate re-evaluates a case locked by the caller's transaction (q) and
// writes the outcome; cases.Rerun uses it.
func (s *Service) Evaluate(ctx context.Context, q *db.Queries, c db.ReconciliationCase, actor string) (db.ReconciliationCase, error) {
	pi, err := q.GetPaymentIntent(ctx, db.GetPaymentIntentParams{OrganizationID: c.OrganizationID, ID: c.PaymentIntentID})
	if err != nil {
		return c, fmt.Errorf("intent of case %s: %w", c.ID, err)
	}
	w := &work{q: q}
	updated, err := s.evaluate(ctx, w, c, pi, actor)
	if err != nil {
		return c, err
	}
	return updated, w.flush(ctx)
}

// evaluate re-evaluates one case locked by the caller (evaluateMany of one).
func (s *Service) evaluate(ctx context.Context, w *work, c db.ReconciliationCase, pi db.PaymentIntent, actor string) (db.ReconciliationCase, error) {
	updated, err := s.evaluateMany(ctx, w, []db.LockCasesWithIntentsRow{{ReconciliationCase: c, PaymentIntent: pi}}, actor)
	if err != nil {
		return c, err
	}
	return updated[0], nil
}

func evaluationMessage(o recon.Outcome, after db.ReconciliationCase) string {
	if o.Verdict == nil && after.Verdict == nil {
		return "Case evaluated: no evidence yet."
	}
	msg := "Case evaluated: "
	if o.Verdict == nil {
		msg += "no evidence yet"
	} else {
		msg += fmt.Sprintf("%s, %s", *o.Verdict, o.ReconciliationStatus)
	}
	if o.ExceptionType != nil {
		msg += ", exception " + *o.ExceptionType
	}
	if o.UnexplainedDelta != nil && !o.UnexplainedDelta.IsZero() {
		msg += ", unexplained delta " + o.UnexplainedDelta.String()
	}
	msg += fmt.Sprintf(" (%d of %d required legs present)", o.RequiredLegsPresent, o.RequiredLegsTotal)
	if deref(after.Verdict) != deref(o.Verdict) {
		msg += "; late: " + deref(after.Verdict)
	}
	return msg + "."
}

func legParams(raw db.RawRecord, l evidence.Leg) db.InsertFlowLegParams {
	return db.InsertFlowLegParams{
		ID: uuid.New(), OrganizationID: raw.OrganizationID, RawRecordID: raw.ID, Type: l.Type, Status: l.Status, SourceStatus: l.SourceStatus,
		Identity: l.Identity, Provider: l.Provider, ProviderTransferID: l.ProviderTransferID, TxHash: l.TxHash,
		ChainFamily: l.ChainFamily, ChainID: l.ChainID, FromAddress: l.FromAddress, ToAddress: l.ToAddress,
		BankAccount: l.BankAccount, BankReference: l.BankReference, EndToEndID: l.EndToEndID, Direction: l.Direction,
		Amount: numeric.From(l.Amount), Currency: l.Currency, DestinationAmount: numeric.NullFrom(l.DestinationAmount),
		DestinationCurrency: l.DestinationCurrency, FxRate: numeric.NullFrom(l.FxRate), ProviderFee: numeric.NullFrom(l.ProviderFee),
		NetworkFee: numeric.NullFrom(l.NetworkFee), DeveloperFee: numeric.NullFrom(l.DeveloperFee),
		PaymentIntentID: l.PaymentIntentID, ExternalReference: l.ExternalReference, ReferenceValues: l.ReferenceValues,
		OccurredAt: l.OccurredAt,
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func decStr(d *decimal.Decimal) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}
