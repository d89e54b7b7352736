package expected

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// TransactionInput is a validated transaction.
type TransactionInput struct {
	InternalAccountID         uuid.UUID
	Direction                 string
	Amount                    int64
	Currency                  *string
	AsOfDate                  time.Time
	Posted                    bool
	Type                      *string
	VendorDescription         *string
	CustomIdentifiers         map[string]string
	CounterpartyName          *string
	CounterpartyAccountNumber *string
	CounterpartyRoutingNumber *string
	CounterpartyIBAN          *string
	ExternalID                *string
	Metadata                  []byte
}

// TransactionCreated is a stored transaction and its matcher task, to
// enqueue once committed.
type TransactionCreated struct {
	Transaction db.Transaction
	Job         tasks.Job
}

// CreateTransaction stores a transaction for the matcher (its task in the
// outbox with it). Its currency defaults to the account's.
func (s *Service) CreateTransaction(ctx context.Context, org uuid.UUID, in TransactionInput, finish txn.Finish[TransactionCreated]) (TransactionCreated, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (TransactionCreated, error) {
		q := s.q.WithTx(tx)
		a, err := q.GetInternalAccount(ctx, db.GetInternalAccountParams{OrganizationID: org, ID: in.InternalAccountID})
		if _, err := fault.NotFound(a, err, ErrAccountNotFound, "internal account"); err != nil {
			if err == ErrAccountNotFound {
				return TransactionCreated{}, &fault.InputError{Path: []string{"internal_account_id"},
					Msg: fmt.Sprintf("No internal account %s in this organization.", in.InternalAccountID)}
			}
			return TransactionCreated{}, err
		}
		cur := a.Currency
		if in.Currency != nil {
			cur = strings.ToUpper(*in.Currency)
		}
		raw, key := identifiersJSON(in.CustomIdentifiers)
		t, err := q.CreateTransaction(ctx, db.CreateTransactionParams{
			OrganizationID: org, InternalAccountID: in.InternalAccountID, Direction: in.Direction, Amount: in.Amount,
			Currency: cur, AsOfDate: Date(&in.AsOfDate), Posted: in.Posted, Type: in.Type, VendorDescription: in.VendorDescription,
			CustomIdentifiers: raw, IdentifiersKey: key, CounterpartyName: in.CounterpartyName,
			CounterpartyAccountNumber: in.CounterpartyAccountNumber, CounterpartyRoutingNumber: in.CounterpartyRoutingNumber,
			CounterpartyIban: in.CounterpartyIBAN, ExternalID: in.ExternalID, Metadata: in.Metadata,
		})
		if fault.UniqueViolation(err) {
			return TransactionCreated{}, &fault.ConflictError{Code: "transaction_conflict",
				Msg:     fmt.Sprintf("Another transaction has external_id %q.", deref(in.ExternalID)),
				Details: map[string]any{"external_id": deref(in.ExternalID)}}
		}
		if err != nil {
			return TransactionCreated{}, fmt.Errorf("create transaction: %w", err)
		}
		job := MatchJob(org, "transaction:"+t.ID.String())
		return TransactionCreated{Transaction: t, Job: job}, tasks.Record(ctx, q, job)
	}, finish)
}

// identifiersJSON is a transaction's custom identifiers as given, and as the
// matcher compares them (Normalize).
func identifiersJSON(ids map[string]string) (raw, key []byte) {
	if ids == nil {
		ids = map[string]string{}
	}
	raw, _ = json.Marshal(ids)
	key, _ = json.Marshal(Normalize(ids))
	return raw, key
}

// GetTransaction reads one transaction.
func (s *Service) GetTransaction(ctx context.Context, org, id uuid.UUID) (db.Transaction, error) {
	t, err := s.q.GetTransaction(ctx, db.GetTransactionParams{OrganizationID: org, ID: id})
	return fault.NotFound(t, err, ErrTransactionNotFound, "transaction")
}

// TransactionFilter narrows a list of transactions.
type TransactionFilter struct {
	InternalAccountID, ExpectedPaymentID *uuid.UUID
	Direction                            *string
	Posted, Reconciled, IncludeDiscarded *bool
	AsOfFrom, AsOfTo                     *time.Time
}

// ListTransactions reads a page of transactions (Limit+1 rows at most).
func (s *Service) ListTransactions(ctx context.Context, org uuid.UUID, f TransactionFilter, p Page) ([]db.Transaction, error) {
	at, id, lim := p.bounds()
	from, to := span(f.AsOfFrom, f.AsOfTo)
	rows, err := s.q.ListTransactions(ctx, db.ListTransactionsParams{
		OrganizationID: org, BeforeAt: at, BeforeID: id, InternalAccountID: f.InternalAccountID, Direction: f.Direction,
		Posted: f.Posted, Reconciled: f.Reconciled, ExpectedPaymentID: f.ExpectedPaymentID,
		AsOfFrom: Date(&from), AsOfTo: Date(&to), IncludeDiscarded: f.IncludeDiscarded, Lim: lim,
	})
	if err != nil {
		return nil, fmt.Errorf("list transactions: %w", err)
	}
	return rows, nil
}

// Changed is a transaction after a change, and the matcher task to enqueue
// (nil when none).
type Changed struct {
	Transaction db.Transaction
	Job         *tasks.Job
}

// PostTransaction marks a pending transaction posted: an expected payment it
// tentatively reconciled is now reconciled.
func (s *Service) PostTransaction(ctx context.Context, org, id uuid.UUID) (Changed, error) {
	return s.change(ctx, org, id, "post", func(t db.Transaction) (db.UpdateTransactionParams, error) {
		p := keep(t)
		p.Posted = true
		return p, nil
	})
}

// DiscardTransaction records that a transaction disappeared from the bank's
// records (a pending one dropped, a reversal): it leaves its expected
// payment, which goes back to the matcher for other transactions.
func (s *Service) DiscardTransaction(ctx context.Context, org, id uuid.UUID) (Changed, error) {
	return s.change(ctx, org, id, "discard", func(t db.Transaction) (db.UpdateTransactionParams, error) {
		now := time.Now()
		return db.UpdateTransactionParams{ID: t.ID, Posted: t.Posted, DiscardedAt: &now, MatchState: "done"}, nil
	})
}

func keep(t db.Transaction) db.UpdateTransactionParams {
	return db.UpdateTransactionParams{ID: t.ID, Posted: t.Posted, DiscardedAt: t.DiscardedAt, ExpectedPaymentID: t.ExpectedPaymentID,
		ReconciliationMethod: t.ReconciliationMethod, ReconciliationReason: t.ReconciliationReason, MatchState: t.MatchState}
}

func (s *Service) change(ctx context.Context, org, id uuid.UUID, action string, apply func(db.Transaction) (db.UpdateTransactionParams, error)) (Changed, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Changed, error) {
		q := s.q.WithTx(tx)
		t, err := q.LockTransaction(ctx, db.LockTransactionParams{OrganizationID: org, ID: id})
		if t, err = fault.NotFound(t, err, ErrTransactionNotFound, "transaction"); err != nil {
			return Changed{}, err
		}
		if t.DiscardedAt != nil {
			return Changed{Transaction: t}, &fault.StateError{Action: action, Object: "transaction", Status: "discarded"}
		}
		p, err := apply(t)
		if err != nil {
			return Changed{}, err
		}
		was := t.ExpectedPaymentID
		if t, err = q.UpdateTransaction(ctx, p); err != nil {
			return Changed{}, fmt.Errorf("%s transaction: %w", action, err)
		}
		out := Changed{Transaction: t}
		if was == nil {
			return out, nil
		}
		e, err := q.LockExpectedPayment(ctx, db.LockExpectedPaymentParams{OrganizationID: org, ID: *was})
		if err != nil {
			return out, fmt.Errorf("lock expected payment %s: %w", *was, err)
		}
		e, reopened, err := refresh(ctx, q, e)
		if err != nil || !reopened {
			return out, err
		}
		vars, err := s.variables(ctx, q, e)
		if err != nil {
			return out, err
		}
		out.Job, err = requeue(ctx, q, org, vars, "expected_payment:"+e.ID.String())
		return out, err
	}, nil)
}

// variables reads back an expected payment's stored rule variables.
func (s *Service) variables(ctx context.Context, q *db.Queries, e db.ExpectedPayment) ([]Variable, error) {
	rows, err := q.ExpectedPaymentVariables(ctx, e.ID)
	if err != nil {
		return nil, fmt.Errorf("read rule variables: %w", err)
	}
	out := make([]Variable, len(rows))
	for i, r := range rows {
		out[i] = variableOf(r.ExpectedPaymentID, int(r.Idx), r.InternalAccountID, r.Direction, r.Currency, r.AmountLowerBound,
			r.AmountUpperBound, r.DateLowerBound, r.DateUpperBound, r.Type, r.CustomIdentifiers)
	}
	return out, nil
}
