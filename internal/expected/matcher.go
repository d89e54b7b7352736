package expected

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// MatchBatch is how many pending transactions one matcher transaction takes.
const MatchBatch = 1000

// MatchResult counts what one MatchPending call did.
type MatchResult struct {
	Transactions int // looked at
	Reconciled   int // reconciled to an expected payment
	Review       int // left for review (a tie)
}

// MatchPending reconciles the organization's pending transactions, a batch
// per database transaction, until none is left, then clears taskID's
// outbox row (when given). Batches are taken oldest first with SKIP
// LOCKED, so several workers share a backlog; within a batch, transactions
// are placed in order and each sees the payments the earlier ones filled.
// A redelivered task finds nothing pending and changes nothing.
func (s *Service) MatchPending(ctx context.Context, org uuid.UUID, taskID string) (MatchResult, error) {
	var res MatchResult
	for {
		n := 0
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			q := s.q.WithTx(tx)
			r, err := matchBatch(ctx, q, org)
			if err != nil {
				return err
			}
			n = r.Transactions
			res.Transactions += r.Transactions
			res.Reconciled += r.Reconciled
			res.Review += r.Review
			if n < MatchBatch && taskID != "" {
				return tasks.Done(ctx, q, taskID)
			}
			return nil
		})
		if err != nil {
			return res, fmt.Errorf("match transactions of %s: %w", org, err)
		}
		if n < MatchBatch {
			return res, nil
		}
	}
}

func matchBatch(ctx context.Context, q *db.Queries, org uuid.UUID) (MatchResult, error) {
	claimed, err := q.ClaimPendingTransactions(ctx, db.ClaimPendingTransactionsParams{OrganizationID: org, Lim: MatchBatch})
	if err != nil || len(claimed) == 0 {
		return MatchResult{}, err
	}
	ids := make([]uuid.UUID, len(claimed))
	for i, t := range claimed {
		ids[i] = t.ID
	}
	rows, err := q.TransactionCandidates(ctx, ids)
	if err != nil {
		return MatchResult{}, fmt.Errorf("find candidates: %w", err)
	}
	vars := map[uuid.UUID][]Variable{}
	created := map[uuid.UUID]time.Time{}
	var paymentIDs []uuid.UUID
	for _, r := range rows {
		v := variableOf(r.ExpectedPaymentID, int(r.Idx), r.InternalAccountID, r.Direction, r.Currency, r.AmountLowerBound,
			r.AmountUpperBound, r.DateLowerBound, r.DateUpperBound, r.Type, r.CustomIdentifiers)
		v.Derived = r.Derived
		vars[r.TransactionID] = append(vars[r.TransactionID], v)
		if _, ok := created[r.ExpectedPaymentID]; !ok {
			created[r.ExpectedPaymentID] = r.CreatedAt
			paymentIDs = append(paymentIDs, r.ExpectedPaymentID)
		}
	}
	payments := map[uuid.UUID]Payment{}
	methods := map[uuid.UUID]string{}
	if len(paymentIDs) > 0 {
		locked, err := q.LockExpectedPayments(ctx, paymentIDs)
		if err != nil {
			return MatchResult{}, fmt.Errorf("lock expected payments: %w", err)
		}
		for _, l := range locked {
			payments[l.ID] = Payment{ID: l.ID, Status: l.Status, Lower: l.AmountLowerBound, Upper: l.AmountUpperBound,
				Amount: l.AmountReconciled, AllPosted: l.AllPosted, CreatedAt: created[l.ID]}
			methods[l.ID] = "automatic"
			if l.ReconciliationMethod != nil {
				methods[l.ID] = *l.ReconciliationMethod
			}
		}
	}
	before := make(map[uuid.UUID]string, len(payments))
	for id, p := range payments {
		before[id] = p.Status
	}
	res := MatchResult{Transactions: len(claimed)}
	touched := map[uuid.UUID]bool{}
	set := db.SetTransactionsMatchedParams{Ids: ids}
	for _, t := range claimed {
		d := Choose(txnOf(t), vars[t.ID], payments)
		set.ExpectedPaymentIds = append(set.ExpectedPaymentIds, d.Payment)
		set.Reasons = append(set.Reasons, d.Reason)
		set.Reviews = append(set.Reviews, d.Review)
		switch {
		case d.Payment != uuid.Nil:
			res.Reconciled++
			p := payments[d.Payment]
			p.Amount += t.Amount
			p.AllPosted = p.AllPosted && t.Posted
			p.Status = Status(p.Amount, p.Lower, p.Upper, p.AllPosted)
			payments[d.Payment] = p
			touched[d.Payment] = true
		case d.Review != "":
			res.Review++
		}
	}
	if err := q.SetTransactionsMatched(ctx, set); err != nil {
		return res, fmt.Errorf("record matches: %w", err)
	}
	states := db.SetExpectedPaymentStatesParams{}
	reopen := db.SetExpectedPaymentsOpenParams{}
	for id := range touched {
		p := payments[id]
		states.Ids = append(states.Ids, id)
		states.Statuses = append(states.Statuses, p.Status)
		states.Amounts = append(states.Amounts, p.Amount)
		states.Methods = append(states.Methods, methods[id])
		if open(p.Status) != open(before[id]) {
			reopen.Ids = append(reopen.Ids, id)
			reopen.Opens = append(reopen.Opens, open(p.Status))
		}
	}
	if len(states.Ids) == 0 {
		return res, nil
	}
	changed, err := q.SetExpectedPaymentStates(ctx, states)
	if err != nil {
		return res, fmt.Errorf("update expected payments: %w", err)
	}
	if len(reopen.Ids) > 0 {
		if err := q.SetExpectedPaymentsOpen(ctx, reopen); err != nil {
			return res, fmt.Errorf("close rule variables: %w", err)
		}
	}
	var events []db.ExpectedPayment
	for _, e := range changed {
		if e.Status != before[e.ID] {
			events = append(events, e)
		}
	}
	return res, recordEvents(ctx, q, org, events, "")
}

func txnOf(t db.Transaction) Txn {
	var ids map[string]string
	_ = json.Unmarshal(t.IdentifiersKey, &ids)
	return Txn{ID: t.ID, Account: t.InternalAccountID, Direction: t.Direction, Amount: t.Amount, Currency: t.Currency,
		AsOf: t.AsOfDate.Time, Posted: t.Posted, Type: lowerTrim(t.Type), Identifiers: ids}
}

func variableOf(payment uuid.UUID, idx int, account uuid.UUID, direction, currency string, lower, upper int64,
	dateLower, dateUpper pgtype.Date, typ *string, identifiers []byte) Variable {
	var ids map[string]string
	_ = json.Unmarshal(identifiers, &ids)
	return Variable{PaymentID: payment, Index: idx, Account: account, Direction: direction, Currency: currency, Lower: lower,
		Upper: upper, DateLower: FromDate(dateLower), DateUpper: FromDate(dateUpper), Type: typ, Identifiers: ids}
}

// MarkOverdue marks expected payments still unreconciled (or partly) past
// their date_upper_bound, at most limit of them, and records an
// expected_payment.overdue event for each. It returns how many it marked;
// a payment is marked once.
func (s *Service) MarkOverdue(ctx context.Context, today time.Time, limit int32) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		rows, err := q.MarkOverdueExpectedPayments(ctx, db.MarkOverdueExpectedPaymentsParams{Today: Date(&today), Lim: limit})
		if err != nil {
			return fmt.Errorf("mark overdue expected payments: %w", err)
		}
		n = len(rows)
		byOrg := map[uuid.UUID][]db.ExpectedPayment{}
		for _, e := range rows {
			byOrg[e.OrganizationID] = append(byOrg[e.OrganizationID], e)
		}
		for org, ps := range byOrg {
			if err := recordEvents(ctx, q, org, ps, "overdue"); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
