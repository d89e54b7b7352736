package expected

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// VariableInput is one validated reconciliation rule variable; direction,
// bounds and account are required (seed 004 always gives them).
type VariableInput struct {
	Direction         string
	AmountLowerBound  int64
	AmountUpperBound  int64
	InternalAccountID uuid.UUID
	DateLowerBound    *time.Time
	DateUpperBound    *time.Time
	Currency          *string
	Type              *string
	CustomIdentifiers map[string]string
}

// PaymentInput is a validated expected payment. Top-level fields left out
// come from the first rule variable; without variables direction, bounds
// and account are required (the api checks that).
type PaymentInput struct {
	Direction             *string
	Currency              *string
	AmountLowerBound      *int64
	AmountUpperBound      *int64
	DateLowerBound        *time.Time
	DateUpperBound        *time.Time
	InternalAccountID     *uuid.UUID
	CounterpartyID        *uuid.UUID
	Type                  *string
	Description           *string
	StatementDescriptor   *string
	RemittanceInformation *string
	ExternalID            *string
	Metadata              []byte
	// Variables is nil when none were given; RawVariables is them as the
	// client sent them, shown back by the API.
	Variables    []VariableInput
	RawVariables []byte
}

// Created is a stored expected payment and the matcher task to enqueue
// once it has committed (nil when no transaction waits for it).
type Created struct {
	Payment db.ExpectedPayment
	Job     *tasks.Job
}

// CreatePayment stores an expected payment with its rule variables and
// sends the unreconciled transactions it could claim back to the matcher:
// a transaction that arrived first still reconciles.
func (s *Service) CreatePayment(ctx context.Context, org uuid.UUID, in PaymentInput, finish txn.Finish[Created]) (Created, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Created, error) {
		q := s.q.WithTx(tx)
		p, vars, err := s.resolve(ctx, q, org, in)
		if err != nil {
			return Created{}, err
		}
		e, err := q.CreateExpectedPayment(ctx, p.create(org))
		if fault.UniqueViolation(err) {
			return Created{}, externalIDConflict(in.ExternalID)
		}
		if err != nil {
			return Created{}, fmt.Errorf("create expected payment: %w", err)
		}
		job, err := storeVariables(ctx, q, e, vars, "expected_payment:"+e.ID.String())
		return Created{Payment: e, Job: job}, err
	}, finish)
}

func externalIDConflict(id *string) error {
	return &fault.ConflictError{Code: "expected_payment_conflict",
		Msg:     fmt.Sprintf("Another expected payment has external_id %q.", deref(id)),
		Details: map[string]any{"external_id": deref(id)}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// resolved is a payment input with every top-level field settled and its
// accounts known.
type resolved struct {
	in       PaymentInput
	dir      string
	currency string
	lower    int64
	upper    int64
	account  uuid.UUID
}

func (r resolved) create(org uuid.UUID) db.CreateExpectedPaymentParams {
	in := r.in
	return db.CreateExpectedPaymentParams{
		OrganizationID: org, Direction: r.dir, Currency: r.currency, AmountLowerBound: r.lower, AmountUpperBound: r.upper,
		DateLowerBound: Date(in.DateLowerBound), DateUpperBound: Date(in.DateUpperBound), InternalAccountID: r.account,
		CounterpartyID: in.CounterpartyID, Type: in.Type, Description: in.Description, StatementDescriptor: in.StatementDescriptor,
		RemittanceInformation: in.RemittanceInformation, ExternalID: in.ExternalID, Metadata: in.Metadata,
		ReconciliationRuleVariables: in.RawVariables,
	}
}

// resolve fills the top-level fields from the first variable, checks that
// every account and the counterparty exist, and builds the matcher's
// variables (one from the top-level fields when none were given).
func (s *Service) resolve(ctx context.Context, q *db.Queries, org uuid.UUID, in PaymentInput) (resolved, []Variable, error) {
	accounts := map[uuid.UUID]db.InternalAccount{}
	account := func(id uuid.UUID, path []string) (db.InternalAccount, error) {
		if a, ok := accounts[id]; ok {
			return a, nil
		}
		a, err := q.GetInternalAccount(ctx, db.GetInternalAccountParams{OrganizationID: org, ID: id})
		if err != nil {
			if _, err := fault.NotFound(a, err, ErrAccountNotFound, "internal account"); err == ErrAccountNotFound {
				return a, &fault.InputError{Path: path, Msg: fmt.Sprintf("No internal account %s in this organization.", id)}
			}
			return a, err
		}
		accounts[id] = a
		return a, nil
	}
	r := resolved{in: in}
	if len(in.Variables) > 0 {
		first := in.Variables[0]
		r.dir, r.account = first.Direction, first.InternalAccountID
		r.lower, r.upper = first.AmountLowerBound, first.AmountUpperBound
		for _, v := range in.Variables[1:] {
			r.lower, r.upper = min(r.lower, v.AmountLowerBound), max(r.upper, v.AmountUpperBound)
		}
		if first.Currency != nil {
			r.currency = *first.Currency
		}
		// Date bounds too when every variable has one: the payment is
		// overdue once no variable can still be met.
		if in.DateLowerBound == nil {
			in.DateLowerBound = extreme(in.Variables, func(v VariableInput) *time.Time { return v.DateLowerBound }, -1)
		}
		if in.DateUpperBound == nil {
			in.DateUpperBound = extreme(in.Variables, func(v VariableInput) *time.Time { return v.DateUpperBound }, 1)
		}
		r.in = in
	}
	if in.Direction != nil {
		r.dir = *in.Direction
	}
	if in.InternalAccountID != nil {
		r.account = *in.InternalAccountID
	}
	if in.AmountLowerBound != nil {
		r.lower = *in.AmountLowerBound
	}
	if in.AmountUpperBound != nil {
		r.upper = *in.AmountUpperBound
	}
	if r.lower > r.upper {
		return r, nil, &fault.InputError{Path: []string{"amount_lower_bound"},
			Msg: fmt.Sprintf("amount_lower_bound (%d) is above amount_upper_bound (%d).", r.lower, r.upper)}
	}
	topPath := []string{"internal_account_id"}
	if in.InternalAccountID == nil {
		topPath = []string{"reconciliation_rule_variables", "0", "internal_account_id"}
	}
	top, err := account(r.account, topPath)
	if err != nil {
		return r, nil, err
	}
	if in.Currency != nil {
		r.currency = *in.Currency
	} else if r.currency == "" {
		r.currency = top.Currency
	}
	if in.CounterpartyID != nil {
		if _, err := q.GetCounterparty(ctx, db.GetCounterpartyParams{OrganizationID: org, ID: *in.CounterpartyID}); err != nil {
			if _, err := fault.NotFound(db.Counterparty{}, err, ErrCounterpartyNotFound, "counterparty"); err == ErrCounterpartyNotFound {
				return r, nil, &fault.InputError{Path: []string{"counterparty_id"}, Msg: fmt.Sprintf("No counterparty %s in this organization.", *in.CounterpartyID)}
			}
			return r, nil, err
		}
	}
	if len(in.Variables) == 0 {
		return r, []Variable{{Index: 0, Derived: true, Account: r.account, Direction: r.dir, Currency: r.currency,
			Lower: r.lower, Upper: r.upper, DateLower: in.DateLowerBound, DateUpper: in.DateUpperBound, Type: lowerTrim(in.Type),
			Identifiers: map[string]string{}}}, nil
	}
	vars := make([]Variable, len(in.Variables))
	for i, v := range in.Variables {
		path := func(f string) []string { return []string{"reconciliation_rule_variables", fmt.Sprint(i), f} }
		a, err := account(v.InternalAccountID, path("internal_account_id"))
		if err != nil {
			return r, nil, err
		}
		if v.AmountLowerBound < r.lower || v.AmountUpperBound > r.upper {
			return r, nil, &fault.InputError{Path: path("amount_lower_bound"), Msg: fmt.Sprintf(
				"The variable's bounds [%d, %d] must lie within the expected payment's [%d, %d].",
				v.AmountLowerBound, v.AmountUpperBound, r.lower, r.upper)}
		}
		cur := a.Currency
		if v.Currency != nil {
			cur = *v.Currency
		}
		vars[i] = Variable{Index: i, Account: v.InternalAccountID, Direction: v.Direction, Currency: strings.ToUpper(cur),
			Lower: v.AmountLowerBound, Upper: v.AmountUpperBound, DateLower: v.DateLowerBound, DateUpper: v.DateUpperBound,
			Type: lowerTrim(v.Type), Identifiers: Normalize(v.CustomIdentifiers)}
	}
	return r, vars, nil
}

// extreme is the earliest (sign -1) or latest (1) of the variables' dates,
// or nil when one of them has none.
func extreme(vs []VariableInput, get func(VariableInput) *time.Time, sign int) *time.Time {
	var out *time.Time
	for _, v := range vs {
		d := get(v)
		if d == nil {
			return nil
		}
		if out == nil || d.Compare(*out) == sign {
			out = d
		}
	}
	return out
}

// InstalmentKey is how transactions carrying a variable's custom
// identifiers find it: its first identifier as "key=value" (normalized),
// or "" when it has none.
func InstalmentKey(ids map[string]string) string {
	if len(ids) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(ids))
	return keys[0] + "=" + ids[keys[0]]
}

// storeVariables writes e's variables and requeues the unreconciled
// transactions they could take; the returned job (nil when none) runs the
// matcher over them.
func storeVariables(ctx context.Context, q *db.Queries, e db.ExpectedPayment, vars []Variable, trigger string) (*tasks.Job, error) {
	if err := q.DeleteExpectedPaymentVariables(ctx, e.ID); err != nil {
		return nil, fmt.Errorf("clear rule variables: %w", err)
	}
	p := db.InsertExpectedPaymentVariablesParams{ExpectedPaymentID: e.ID, OrganizationID: e.OrganizationID}
	for _, v := range vars {
		ids, _ := json.Marshal(v.Identifiers)
		p.Idxs = append(p.Idxs, int16(v.Index))
		p.InternalAccountIds = append(p.InternalAccountIds, v.Account)
		p.Directions = append(p.Directions, v.Direction)
		p.Currencies = append(p.Currencies, v.Currency)
		p.AmountLowerBounds = append(p.AmountLowerBounds, v.Lower)
		p.AmountUpperBounds = append(p.AmountUpperBounds, v.Upper)
		p.DateLowerBounds = append(p.DateLowerBounds, Date(v.DateLower))
		p.DateUpperBounds = append(p.DateUpperBounds, Date(v.DateUpper))
		p.Types = append(p.Types, deref(v.Type))
		p.CustomIdentifiers = append(p.CustomIdentifiers, string(ids))
		p.InstalmentKeys = append(p.InstalmentKeys, InstalmentKey(v.Identifiers))
	}
	if err := q.InsertExpectedPaymentVariables(ctx, p); err != nil {
		return nil, fmt.Errorf("store rule variables: %w", err)
	}
	if !open(e.Status) {
		if err := q.SetExpectedPaymentOpen(ctx, db.SetExpectedPaymentOpenParams{ExpectedPaymentID: e.ID, Open: false}); err != nil {
			return nil, fmt.Errorf("close rule variables: %w", err)
		}
		return nil, nil
	}
	return requeue(ctx, q, e.OrganizationID, vars, trigger)
}

// requeue sends the unreconciled transactions vars could take back to the
// matcher, and records its task.
func requeue(ctx context.Context, q *db.Queries, org uuid.UUID, vars []Variable, trigger string) (*tasks.Job, error) {
	var n int64
	for _, v := range vars {
		c, err := q.RequeueUnreconciledTransactions(ctx, db.RequeueUnreconciledTransactionsParams{
			OrganizationID: org, InternalAccountID: v.Account, Direction: v.Direction,
			AmountLowerBound: v.Lower, AmountUpperBound: v.Upper, Instalments: len(v.Identifiers) > 0,
		})
		if err != nil {
			return nil, fmt.Errorf("requeue transactions: %w", err)
		}
		n += c
	}
	if n == 0 {
		return nil, nil
	}
	job := MatchJob(org, trigger+":"+uuid.NewString())
	return &job, tasks.Record(ctx, q, job)
}

// GetPayment reads one expected payment with the ids of its transactions.
func (s *Service) GetPayment(ctx context.Context, org, id uuid.UUID) (db.ExpectedPayment, []uuid.UUID, error) {
	e, err := s.q.GetExpectedPayment(ctx, db.GetExpectedPaymentParams{OrganizationID: org, ID: id})
	if e, err = fault.NotFound(e, err, ErrPaymentNotFound, "expected payment"); err != nil {
		return e, nil, err
	}
	ids, err := s.TransactionIDs(ctx, []uuid.UUID{id})
	return e, ids[id], err
}

// TransactionIDs maps each expected payment to its reconciled transactions.
func (s *Service) TransactionIDs(ctx context.Context, payments []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error) {
	return transactionIDs(ctx, s.q, payments)
}

func transactionIDs(ctx context.Context, q *db.Queries, payments []uuid.UUID) (map[uuid.UUID][]uuid.UUID, error) {
	rows, err := q.ExpectedPaymentTransactionIDs(ctx, payments)
	if err != nil {
		return nil, fmt.Errorf("read reconciled transactions: %w", err)
	}
	out := make(map[uuid.UUID][]uuid.UUID, len(payments))
	for _, r := range rows {
		out[r.ExpectedPaymentID] = append(out[r.ExpectedPaymentID], r.ID)
	}
	return out, nil
}

// PaymentFilter narrows a list of expected payments.
type PaymentFilter struct {
	Status, Direction, Type, ExternalID *string
	InternalAccountID, CounterpartyID   *uuid.UUID
	// Metadata is a JSON object every listed payment's metadata contains.
	Metadata    []byte
	CreatedFrom *time.Time
	CreatedTo   *time.Time
}

// ListPayments reads a page of expected payments (Limit+1 rows at most:
// the extra one says more follow).
func (s *Service) ListPayments(ctx context.Context, org uuid.UUID, f PaymentFilter, p Page) ([]db.ExpectedPayment, error) {
	at, id, lim := p.bounds()
	from, to := span(f.CreatedFrom, f.CreatedTo)
	meta := f.Metadata
	if meta == nil {
		meta = []byte("{}")
	}
	rows, err := s.q.ListExpectedPayments(ctx, db.ListExpectedPaymentsParams{
		OrganizationID: org, BeforeAt: at, BeforeID: id, Status: f.Status, Direction: f.Direction,
		InternalAccountID: f.InternalAccountID, Type: f.Type, CounterpartyID: f.CounterpartyID, ExternalID: f.ExternalID,
		Metadata: meta, CreatedFrom: from, CreatedTo: to, Lim: lim,
	})
	if err != nil {
		return nil, fmt.Errorf("list expected payments: %w", err)
	}
	return rows, nil
}

// UpdatePayment applies a patch (the fields of in that are set) to an
// unreconciled expected payment; new variables replace the old ones.
func (s *Service) UpdatePayment(ctx context.Context, org, id uuid.UUID, in PaymentInput) (Created, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Created, error) {
		q := s.q.WithTx(tx)
		e, err := q.LockExpectedPayment(ctx, db.LockExpectedPaymentParams{OrganizationID: org, ID: id})
		if e, err = fault.NotFound(e, err, ErrPaymentNotFound, "expected payment"); err != nil {
			return Created{}, err
		}
		if e.Status != StatusUnreconciled {
			return Created{}, &fault.StateError{Action: "update", Object: "expected payment", Status: e.Status}
		}
		merged := merge(e, in)
		p, vars, err := s.resolve(ctx, q, org, merged)
		if err != nil {
			return Created{}, err
		}
		c := p.create(org)
		e, err = q.UpdateExpectedPayment(ctx, db.UpdateExpectedPaymentParams{
			ID: id, Direction: c.Direction, Currency: c.Currency, AmountLowerBound: c.AmountLowerBound,
			AmountUpperBound: c.AmountUpperBound, DateLowerBound: c.DateLowerBound, DateUpperBound: c.DateUpperBound,
			InternalAccountID: c.InternalAccountID, CounterpartyID: c.CounterpartyID, Type: c.Type, Description: c.Description,
			StatementDescriptor: c.StatementDescriptor, RemittanceInformation: c.RemittanceInformation, ExternalID: c.ExternalID,
			Metadata: c.Metadata, ReconciliationRuleVariables: c.ReconciliationRuleVariables,
		})
		if fault.UniqueViolation(err) {
			return Created{}, externalIDConflict(in.ExternalID)
		}
		if err != nil {
			return Created{}, fmt.Errorf("update expected payment: %w", err)
		}
		job, err := storeVariables(ctx, q, e, vars, "expected_payment:"+e.ID.String())
		return Created{Payment: e, Job: job}, err
	}, nil)
}

// merge lays a patch over the stored payment. Stored top-level fields that
// came from the variables are dropped when the variables change, so they
// are taken from the new ones.
func merge(e db.ExpectedPayment, in PaymentInput) PaymentInput {
	out := in
	keep := func(dst **string, v *string) {
		if *dst == nil {
			*dst = v
		}
	}
	keep(&out.Type, e.Type)
	keep(&out.Description, e.Description)
	keep(&out.StatementDescriptor, e.StatementDescriptor)
	keep(&out.RemittanceInformation, e.RemittanceInformation)
	keep(&out.ExternalID, e.ExternalID)
	if out.Metadata == nil {
		out.Metadata = e.Metadata
	}
	if out.CounterpartyID == nil {
		out.CounterpartyID = e.CounterpartyID
	}
	if out.DateLowerBound == nil {
		out.DateLowerBound = FromDate(e.DateLowerBound)
	}
	if out.DateUpperBound == nil {
		out.DateUpperBound = FromDate(e.DateUpperBound)
	}
	if in.Variables != nil {
		return out
	}
	if vars := storedVariables(e.ReconciliationRuleVariables); vars != nil {
		// The stored variables stay, with the top-level fields below.
		out.Variables, out.RawVariables = vars, e.ReconciliationRuleVariables
	}
	if out.Direction == nil {
		out.Direction = &e.Direction
	}
	if out.Currency == nil {
		out.Currency = &e.Currency
	}
	if out.AmountLowerBound == nil {
		out.AmountLowerBound = &e.AmountLowerBound
	}
	if out.AmountUpperBound == nil {
		out.AmountUpperBound = &e.AmountUpperBound
	}
	if out.InternalAccountID == nil {
		out.InternalAccountID = &e.InternalAccountID
	}
	return out
}

// storedVariables reads back the variables an expected payment was given
// (as the api stored them: snake_case, validated), nil when none were.
func storedVariables(raw []byte) []VariableInput {
	var vs []struct {
		Direction         string            `json:"direction"`
		AmountLowerBound  int64             `json:"amount_lower_bound"`
		AmountUpperBound  int64             `json:"amount_upper_bound"`
		InternalAccountID uuid.UUID         `json:"internal_account_id"`
		DateLowerBound    *string           `json:"date_lower_bound"`
		DateUpperBound    *string           `json:"date_upper_bound"`
		Currency          *string           `json:"currency"`
		Type              *string           `json:"type"`
		CustomIdentifiers map[string]string `json:"custom_identifiers"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &vs) != nil || len(vs) == 0 {
		return nil
	}
	day := func(s *string) *time.Time {
		if s == nil {
			return nil
		}
		d, err := time.Parse(time.DateOnly, *s)
		if err != nil {
			return nil
		}
		return &d
	}
	out := make([]VariableInput, len(vs))
	for i, v := range vs {
		out[i] = VariableInput{Direction: v.Direction, AmountLowerBound: v.AmountLowerBound, AmountUpperBound: v.AmountUpperBound,
			InternalAccountID: v.InternalAccountID, DateLowerBound: day(v.DateLowerBound), DateUpperBound: day(v.DateUpperBound),
			Currency: v.Currency, Type: v.Type, CustomIdentifiers: v.CustomIdentifiers}
	}
	return out
}

// ArchivePayment archives an expected payment nothing is reconciled to.
func (s *Service) ArchivePayment(ctx context.Context, org, id uuid.UUID) (db.ExpectedPayment, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.ExpectedPayment, error) {
		q := s.q.WithTx(tx)
		e, err := q.LockExpectedPayment(ctx, db.LockExpectedPaymentParams{OrganizationID: org, ID: id})
		if e, err = fault.NotFound(e, err, ErrPaymentNotFound, "expected payment"); err != nil {
			return e, err
		}
		if e.Status == StatusArchived {
			return e, nil
		}
		if e.AmountReconciled > 0 {
			return e, &fault.StateError{Action: "archive", Object: "expected payment", Status: e.Status}
		}
		if err := q.SetExpectedPaymentOpen(ctx, db.SetExpectedPaymentOpenParams{ExpectedPaymentID: id, Open: false}); err != nil {
			return e, fmt.Errorf("close rule variables: %w", err)
		}
		e, err = q.ArchiveExpectedPayment(ctx, id)
		if err != nil {
			return e, fmt.Errorf("archive expected payment: %w", err)
		}
		return e, nil
	}, nil)
}

// Reconcile links transactions to an expected payment by hand
// (reconciliation_method manual). Each must be on the payment's currency,
// not discarded, and not reconciled to another payment; together they may
// not take the payment above its upper bound.
func (s *Service) Reconcile(ctx context.Context, org, id uuid.UUID, txIDs []uuid.UUID) (db.ExpectedPayment, error) {
	return s.relink(ctx, org, id, txIDs, true)
}

// Unreconcile removes transactions (all of them when txIDs is empty) from an
// expected payment. They are not offered to the matcher again: someone said
// they do not belong here.
func (s *Service) Unreconcile(ctx context.Context, org, id uuid.UUID, txIDs []uuid.UUID) (db.ExpectedPayment, error) {
	return s.relink(ctx, org, id, txIDs, false)
}

func (s *Service) relink(ctx context.Context, org, id uuid.UUID, txIDs []uuid.UUID, link bool) (db.ExpectedPayment, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.ExpectedPayment, error) {
		q := s.q.WithTx(tx)
		// Another organization's payment is not found, whatever the body.
		e, err := q.GetExpectedPayment(ctx, db.GetExpectedPaymentParams{OrganizationID: org, ID: id})
		if _, err := fault.NotFound(e, err, ErrPaymentNotFound, "expected payment"); err != nil {
			return e, err
		}
		if !link && len(txIDs) == 0 {
			all, err := transactionIDs(ctx, q, []uuid.UUID{id})
			if err != nil {
				return db.ExpectedPayment{}, err
			}
			txIDs = all[id]
		}
		// Transactions before payments, as the matcher locks them.
		ids := slices.Clone(txIDs)
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		ids = slices.Compact(ids)
		txs := make([]db.Transaction, 0, len(ids))
		for _, tid := range ids {
			t, err := q.LockTransaction(ctx, db.LockTransactionParams{OrganizationID: org, ID: tid})
			if t, err = fault.NotFound(t, err, ErrTransactionNotFound, "transaction"); err != nil {
				if err == ErrTransactionNotFound {
					return db.ExpectedPayment{}, &fault.InputError{Path: []string{"transaction_ids"}, Msg: fmt.Sprintf("No transaction %s in this organization.", tid)}
				}
				return db.ExpectedPayment{}, err
			}
			txs = append(txs, t)
		}
		e, err = q.LockExpectedPayment(ctx, db.LockExpectedPaymentParams{OrganizationID: org, ID: id})
		if e, err = fault.NotFound(e, err, ErrPaymentNotFound, "expected payment"); err != nil {
			return e, err
		}
		if e.Status == StatusArchived {
			return e, &fault.StateError{Action: map[bool]string{true: "reconcile", false: "unreconcile"}[link], Object: "expected payment", Status: e.Status}
		}
		add := int64(0)
		for _, t := range txs {
			switch {
			case !link && (t.ExpectedPaymentID == nil || *t.ExpectedPaymentID != id):
				return e, &fault.InputError{Path: []string{"transaction_ids"}, Msg: fmt.Sprintf("Transaction %s is not reconciled to this expected payment.", t.ID)}
			case !link:
				continue
			case t.DiscardedAt != nil:
				return e, &fault.InputError{Path: []string{"transaction_ids"}, Msg: fmt.Sprintf("Transaction %s is discarded.", t.ID)}
			case t.ExpectedPaymentID != nil && *t.ExpectedPaymentID == id:
				continue
			case t.ExpectedPaymentID != nil:
				return e, &fault.ConflictError{Code: "transaction_already_reconciled",
					Msg:     fmt.Sprintf("Transaction %s is reconciled to expected payment %s; unreconcile it there first.", t.ID, *t.ExpectedPaymentID),
					Details: map[string]any{"transaction_id": t.ID.String(), "expected_payment_id": t.ExpectedPaymentID.String()}}
			case !strings.EqualFold(t.Currency, e.Currency):
				return e, &fault.InputError{Path: []string{"transaction_ids"}, Msg: fmt.Sprintf("Transaction %s is in %s; the expected payment is in %s.", t.ID, t.Currency, e.Currency)}
			}
			add += t.Amount
		}
		if link && e.AmountReconciled+add > e.AmountUpperBound {
			return e, &fault.InputError{Path: []string{"transaction_ids"}, Msg: fmt.Sprintf(
				"These transactions would bring amount_reconciled to %d, above amount_upper_bound %d.", e.AmountReconciled+add, e.AmountUpperBound)}
		}
		for _, t := range txs {
			p := db.UpdateTransactionParams{ID: t.ID, Posted: t.Posted, MatchState: "done"}
			if link {
				if t.ExpectedPaymentID != nil {
					continue
				}
				manual, why := "manual", "reconciled by hand"
				p.ExpectedPaymentID, p.ReconciliationMethod, p.ReconciliationReason = &id, &manual, &why
			}
			if _, err := q.UpdateTransaction(ctx, p); err != nil {
				return e, fmt.Errorf("update transaction %s: %w", t.ID, err)
			}
		}
		e, _, err = refresh(ctx, q, e)
		return e, err
	}, nil)
}

// refresh recomputes an expected payment's status from the transactions
// reconciled to it, records an event when the status changes, and reopens
// (or closes) it to the matcher; reopened tells that it takes transactions
// again.
func refresh(ctx context.Context, q *db.Queries, e db.ExpectedPayment) (db.ExpectedPayment, bool, error) {
	sum, err := q.ReconciledSum(ctx, &e.ID)
	if err != nil {
		return e, false, fmt.Errorf("sum reconciled transactions: %w", err)
	}
	status := Status(sum.Amount, e.AmountLowerBound, e.AmountUpperBound, sum.AllPosted)
	var method *string
	switch {
	case sum.Transactions == 0:
	case sum.AnyManual:
		m := "manual"
		method = &m
	default:
		m := "automatic"
		method = &m
	}
	before := e.Status
	e, err = q.SetExpectedPaymentState(ctx, db.SetExpectedPaymentStateParams{ID: e.ID, Status: status, AmountReconciled: sum.Amount, ReconciliationMethod: method})
	if err != nil {
		return e, false, fmt.Errorf("set expected payment state: %w", err)
	}
	if open(before) != open(status) {
		if err := q.SetExpectedPaymentOpen(ctx, db.SetExpectedPaymentOpenParams{ExpectedPaymentID: e.ID, Open: open(status)}); err != nil {
			return e, false, fmt.Errorf("reopen rule variables: %w", err)
		}
	}
	if before != status {
		if err := recordEvents(ctx, q, e.OrganizationID, []db.ExpectedPayment{e}, ""); err != nil {
			return e, false, err
		}
	}
	return e, !open(before) && open(status), nil
}

// render is a payment as the API shows it, for an event's data.
func render(e db.ExpectedPayment, txs []uuid.UUID) []byte {
	b, _ := json.Marshal(resource.RenderExpectedPayment(e, txs))
	return b
}

// recordEvents writes an expected_payment.<what> event for each payment,
// with the payment as the API shows it; what is the payment's status when
// empty.
func recordEvents(ctx context.Context, q *db.Queries, org uuid.UUID, ps []db.ExpectedPayment, what string) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ps))
	for i, e := range ps {
		ids[i] = e.ID
	}
	txs, err := transactionIDs(ctx, q, ids)
	if err != nil {
		return err
	}
	p := db.InsertExpectedPaymentEventsParams{OrganizationID: org}
	for _, e := range ps {
		w := what
		if w == "" {
			w = e.Status
		}
		p.EventTypes = append(p.EventTypes, "expected_payment."+w)
		p.Data = append(p.Data, string(render(e, txs[e.ID])))
	}
	if err := q.InsertExpectedPaymentEvents(ctx, p); err != nil {
		return fmt.Errorf("record expected payment events: %w", err)
	}
	return nil
}
