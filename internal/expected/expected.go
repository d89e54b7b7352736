// Package expected owns expected payments (seed 004, DESIGN §6): the
// internal accounts and counterparties they name, the transactions that
// arrive on those accounts, and the matcher that reconciles transactions to
// expected payments by their reconciliation rule variables.
package expected

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// Errors the api maps to 404.
var (
	ErrAccountNotFound      = errors.New("internal account not found")
	ErrCounterpartyNotFound = errors.New("counterparty not found")
	ErrPaymentNotFound      = errors.New("expected payment not found")
	ErrTransactionNotFound  = errors.New("transaction not found")
)

// Service is the expected payments store.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool)} }

// Page is a keyset page request: rows older than the cursor, newest first.
type Page struct {
	Limit     int
	BeforeAt  time.Time
	BeforeID  uuid.UUID
	HasCursor bool
}

// bounds is the keyset bound of p ('infinity' and the max uuid when p starts
// at the top), and the row limit with one extra row that tells whether more
// follow.
func (p Page) bounds() (time.Time, uuid.UUID, int32) {
	if !p.HasCursor {
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), uuid.Max, int32(p.Limit + 1)
	}
	return p.BeforeAt, p.BeforeID, int32(p.Limit + 1)
}

// span is [from, to] with an open end made the widest date there is: list
// filters bound their column unconditionally, so one plan serves all.
func span(from, to *time.Time) (time.Time, time.Time) {
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	if from != nil {
		lo = *from
	}
	if to != nil {
		hi = *to
	}
	return lo, hi
}

// AccountInput is a validated internal account.
type AccountInput struct {
	Name          string
	Currency      string
	AccountNumber *string
	RoutingNumber *string
	IBAN          *string
	BIC           *string
	Metadata      []byte
}

// CreateAccount stores an internal account; its bank identifiers are unique
// in the organization, so a statement is attributed to one account.
func (s *Service) CreateAccount(ctx context.Context, org uuid.UUID, in AccountInput, finish txn.Finish[db.InternalAccount]) (db.InternalAccount, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.InternalAccount, error) {
		a, err := s.q.WithTx(tx).CreateInternalAccount(ctx, db.CreateInternalAccountParams{
			OrganizationID: org, Name: in.Name, Currency: in.Currency, AccountNumber: in.AccountNumber,
			RoutingNumber: in.RoutingNumber, Iban: in.IBAN, Bic: in.BIC, Metadata: in.Metadata,
		})
		if fault.UniqueViolation(err) {
			return a, &fault.ConflictError{Code: "internal_account_conflict",
				Msg: "Another internal account of the organization has this IBAN or account number."}
		}
		if err != nil {
			return a, fmt.Errorf("create internal account: %w", err)
		}
		return a, nil
	}, finish)
}

// GetAccount reads one internal account.
func (s *Service) GetAccount(ctx context.Context, org, id uuid.UUID) (db.InternalAccount, error) {
	a, err := s.q.GetInternalAccount(ctx, db.GetInternalAccountParams{OrganizationID: org, ID: id})
	return fault.NotFound(a, err, ErrAccountNotFound, "internal account")
}

// ListAccounts reads a page of internal accounts.
func (s *Service) ListAccounts(ctx context.Context, org uuid.UUID, currency *string, p Page) ([]db.InternalAccount, error) {
	at, id, lim := p.bounds()
	rows, err := s.q.ListInternalAccounts(ctx, db.ListInternalAccountsParams{OrganizationID: org, BeforeAt: at, BeforeID: id, Currency: currency, Lim: lim})
	if err != nil {
		return nil, fmt.Errorf("list internal accounts: %w", err)
	}
	return rows, nil
}

// UpdateAccount renames an account or replaces its metadata.
func (s *Service) UpdateAccount(ctx context.Context, org, id uuid.UUID, name *string, metadata []byte) (db.InternalAccount, error) {
	a, err := s.q.UpdateInternalAccount(ctx, db.UpdateInternalAccountParams{OrganizationID: org, ID: id, Name: name, Metadata: metadata})
	return fault.NotFound(a, err, ErrAccountNotFound, "internal account")
}

// CounterpartyInput is a validated counterparty; Accounts is its JSON array
// of bank identifiers.
type CounterpartyInput struct {
	Name     string
	Email    *string
	Accounts []byte
	Metadata []byte
}

// CreateCounterparty stores a counterparty.
func (s *Service) CreateCounterparty(ctx context.Context, org uuid.UUID, in CounterpartyInput, finish txn.Finish[db.Counterparty]) (db.Counterparty, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.Counterparty, error) {
		c, err := s.q.WithTx(tx).CreateCounterparty(ctx, db.CreateCounterpartyParams{
			OrganizationID: org, Name: in.Name, Email: in.Email, Accounts: in.Accounts, Metadata: in.Metadata,
		})
		if err != nil {
			return c, fmt.Errorf("create counterparty: %w", err)
		}
		return c, nil
	}, finish)
}

// GetCounterparty reads one counterparty.
func (s *Service) GetCounterparty(ctx context.Context, org, id uuid.UUID) (db.Counterparty, error) {
	c, err := s.q.GetCounterparty(ctx, db.GetCounterpartyParams{OrganizationID: org, ID: id})
	return fault.NotFound(c, err, ErrCounterpartyNotFound, "counterparty")
}

// ListCounterparties reads a page of counterparties, optionally those whose
// name starts with name.
func (s *Service) ListCounterparties(ctx context.Context, org uuid.UUID, name *string, p Page) ([]db.Counterparty, error) {
	at, id, lim := p.bounds()
	rows, err := s.q.ListCounterparties(ctx, db.ListCounterpartiesParams{OrganizationID: org, BeforeAt: at, BeforeID: id, Name: name, Lim: lim})
	if err != nil {
		return nil, fmt.Errorf("list counterparties: %w", err)
	}
	return rows, nil
}

// UpdateCounterparty changes the fields given (nil: unchanged).
func (s *Service) UpdateCounterparty(ctx context.Context, org, id uuid.UUID, in CounterpartyInput) (db.Counterparty, error) {
	var name *string
	if in.Name != "" {
		name = &in.Name
	}
	c, err := s.q.UpdateCounterparty(ctx, db.UpdateCounterpartyParams{
		OrganizationID: org, ID: id, Name: name, Email: in.Email, Accounts: in.Accounts, Metadata: in.Metadata,
	})
	return fault.NotFound(c, err, ErrCounterpartyNotFound, "counterparty")
}

// DeleteCounterparty removes a counterparty no expected payment names.
func (s *Service) DeleteCounterparty(ctx context.Context, org, id uuid.UUID) error {
	if _, err := s.GetCounterparty(ctx, org, id); err != nil {
		return err
	}
	n, err := s.q.DeleteCounterparty(ctx, db.DeleteCounterpartyParams{OrganizationID: org, ID: id})
	if err != nil {
		return fmt.Errorf("delete counterparty: %w", err)
	}
	if n == 0 {
		return &fault.ConflictError{Code: "counterparty_in_use", Msg: "Expected payments name this counterparty; it cannot be deleted."}
	}
	return nil
}

// MatchJob is the matcher task a change announces; id tells changes apart
// (a transaction's, a payment's, an import batch's).
func MatchJob(org uuid.UUID, trigger string) tasks.Job {
	b, _ := json.Marshal(tasks.ExpectedMatch{OrganizationID: org})
	return tasks.Job{ID: tasks.TypeExpectedMatch + ":" + trigger, Type: tasks.TypeExpectedMatch, Queue: tasks.QueueMatch,
		Payload: b, OrganizationID: &org, Timeout: 10 * time.Minute}
}

// Date converts a calendar date to a query parameter.
func Date(t *time.Time) pgtype.Date {
	if t == nil {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: *t, Valid: true}
}

// FromDate is a stored date, nil for NULL.
func FromDate(d pgtype.Date) *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.Time
	return &t
}

func lowerTrim(s *string) *string {
	if s == nil {
		return nil
	}
	v := strings.ToLower(strings.TrimSpace(*s))
	return &v
}
