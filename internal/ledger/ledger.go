// Package ledger owns ledger reconciliation (seed 003, DESIGN §5): the book
// side — ledgers, their accounts and GL entries — and runs that reconcile it
// against bank statement files: their sources and statement lines (items),
// matches, discrepancies and the manual review of them. The matching itself
// is internal/ledgermatch; this package loads its inputs and stores its
// result.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// Errors the api maps to 404s.
var (
	ErrLedgerNotFound  = errors.New("ledger not found")
	ErrAccountNotFound = errors.New("ledger account not found")
	ErrRunNotFound     = errors.New("reconciliation run not found")
	ErrSourceNotFound  = errors.New("source file not found")
	ErrMatchNotFound   = errors.New("match not found")
	ErrItemNotFound    = errors.New("item not found")
)

// Service is the ledger side's store.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool)} }

// LedgerInput is a validated ledger.
type LedgerInput struct {
	Name        string
	Description *string
	Currency    *string
	Metadata    []byte
}

// CreateLedger stores a ledger.
func (s *Service) CreateLedger(ctx context.Context, org uuid.UUID, in LedgerInput, finish txn.Finish[db.Ledger]) (db.Ledger, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.Ledger, error) {
		l, err := s.q.WithTx(tx).CreateLedger(ctx, db.CreateLedgerParams{
			OrganizationID: org, Name: in.Name, Description: in.Description, Currency: in.Currency, Metadata: in.Metadata,
		})
		if err != nil {
			return l, fmt.Errorf("create ledger: %w", err)
		}
		return l, nil
	}, finish)
}

// GetLedger reads one ledger.
func (s *Service) GetLedger(ctx context.Context, org, id uuid.UUID) (db.Ledger, error) {
	l, err := s.q.GetLedger(ctx, db.GetLedgerParams{OrganizationID: org, ID: id})
	return fault.NotFound(l, err, ErrLedgerNotFound, "ledger")
}

// ListLedgers returns a page of ledgers, newest first, and the total.
func (s *Service) ListLedgers(ctx context.Context, org uuid.UUID, limit, offset int) ([]db.Ledger, int64, error) {
	total, err := s.q.CountLedgers(ctx, org)
	if err != nil {
		return nil, 0, fmt.Errorf("count ledgers: %w", err)
	}
	rows, err := s.q.ListLedgers(ctx, db.ListLedgersParams{OrganizationID: org, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return nil, 0, fmt.Errorf("list ledgers: %w", err)
	}
	return rows, total, nil
}

// AccountInput is a validated ledger account.
type AccountInput struct {
	Name          string
	Code          string
	Currency      string
	NormalBalance string
}

// CreateAccount adds an account to a ledger; its code is unique there.
func (s *Service) CreateAccount(ctx context.Context, org, ledgerID uuid.UUID, in AccountInput, finish txn.Finish[db.LedgerAccount]) (db.LedgerAccount, error) {
	if _, err := s.GetLedger(ctx, org, ledgerID); err != nil {
		return db.LedgerAccount{}, err
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.LedgerAccount, error) {
		a, err := s.q.WithTx(tx).CreateLedgerAccount(ctx, db.CreateLedgerAccountParams{
			OrganizationID: org, LedgerID: ledgerID, Name: in.Name, Code: in.Code, Currency: in.Currency, NormalBalance: in.NormalBalance,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return a, &fault.ConflictError{Code: "ledger_account_exists", Msg: fmt.Sprintf("The ledger has an account with code %q already.", in.Code),
				Details: map[string]any{"code": in.Code}}
		}
		if err != nil {
			return a, fmt.Errorf("create ledger account: %w", err)
		}
		return a, nil
	}, finish)
}

// Accounts lists a ledger's accounts by code.
func (s *Service) Accounts(ctx context.Context, org, ledgerID uuid.UUID) ([]db.LedgerAccount, error) {
	if _, err := s.GetLedger(ctx, org, ledgerID); err != nil {
		return nil, err
	}
	rows, err := s.q.LedgerAccounts(ctx, db.LedgerAccountsParams{OrganizationID: org, LedgerID: ledgerID})
	if err != nil {
		return nil, fmt.Errorf("list ledger accounts: %w", err)
	}
	return rows, nil
}

// AccountsWithUnreconciled lists accounts (of one ledger, or all) with
// how many of their GL entries no active match holds.
func (s *Service) AccountsWithUnreconciled(ctx context.Context, org uuid.UUID, ledgerID *uuid.UUID) ([]db.AccountsWithUnreconciledRow, error) {
	rows, err := s.q.AccountsWithUnreconciled(ctx, db.AccountsWithUnreconciledParams{OrganizationID: org, LedgerID: ledgerID})
	if err != nil {
		return nil, fmt.Errorf("list ledger accounts: %w", err)
	}
	return rows, nil
}

// EntryInput is one validated GL entry; Account is the account's id or
// code.
type EntryInput struct {
	Account     string
	Direction   string
	Amount      decimal.Decimal
	Currency    string
	BookingDate time.Time
	Reference   *string
	Description *string
	ExternalID  string
}

// MaxEntries is the most entries one request may book.
const MaxEntries = 10000

// AddEntries books a batch of GL entries in one transaction (COPY): all or
// none. External ids are unique per ledger: one already booked refuses the
// batch with 409, naming them.
func (s *Service) AddEntries(ctx context.Context, org, ledgerID uuid.UUID, in []EntryInput, finish txn.Finish[int]) (int, error) {
	accounts, err := s.Accounts(ctx, org, ledgerID)
	if err != nil {
		return 0, err
	}
	byKey := make(map[string]db.LedgerAccount, 2*len(accounts))
	for _, a := range accounts {
		byKey[a.Code] = a
		byKey[a.ID.String()] = a
	}
	rows := make([]db.CopyLedgerEntriesParams, len(in))
	ids := make([]string, len(in))
	for i, e := range in {
		a, ok := byKey[e.Account]
		if !ok {
			return 0, &fault.InputError{Path: []string{"entries", fmt.Sprint(i), "account"}, Msg: fmt.Sprintf("The ledger has no account %q (give its id or code).", e.Account)}
		}
		if a.Currency != e.Currency {
			return 0, &fault.InputError{Path: []string{"entries", fmt.Sprint(i), "currency"}, Msg: fmt.Sprintf("Account %s keeps %s, not %s.", a.Code, a.Currency, e.Currency)}
		}
		id, err := uuid.NewV7()
		if err != nil {
			return 0, fmt.Errorf("entry id: %w", err)
		}
		rows[i] = db.CopyLedgerEntriesParams{
			ID: id, OrganizationID: org, LedgerID: ledgerID, AccountID: a.ID, Direction: e.Direction,
			Amount: numeric.From(e.Amount), Currency: e.Currency, BookingDate: Date(e.BookingDate),
			Reference: e.Reference, Description: e.Description, ExternalID: e.ExternalID,
		}
		ids[i] = e.ExternalID
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (int, error) {
		q := s.q.WithTx(tx)
		booked, err := q.ExistingExternalIDs(ctx, db.ExistingExternalIDsParams{LedgerID: ledgerID, ExternalIds: ids})
		if err != nil {
			return 0, fmt.Errorf("look up external ids: %w", err)
		}
		if len(booked) > 0 {
			return 0, &fault.ConflictError{Code: "ledger_entry_exists",
				Msg:     fmt.Sprintf("%d of the entries' external_id are booked in this ledger already (first: %q); nothing was booked.", len(booked), booked[0]),
				Details: map[string]any{"external_ids": booked}}
		}
		n, err := q.CopyLedgerEntries(ctx, rows)
		if err != nil {
			return 0, fmt.Errorf("book %d entries: %w", len(rows), err)
		}
		return int(n), nil
	}, finish)
}

// Entries returns a page of a ledger's entries by booking date, and the
// total.
func (s *Service) Entries(ctx context.Context, org, ledgerID uuid.UUID, account *uuid.UUID, limit, offset int) ([]db.LedgerEntry, int64, error) {
	if _, err := s.GetLedger(ctx, org, ledgerID); err != nil {
		return nil, 0, err
	}
	total, err := s.q.CountLedgerEntries(ctx, db.CountLedgerEntriesParams{OrganizationID: org, LedgerID: ledgerID, AccountID: account})
	if err != nil {
		return nil, 0, fmt.Errorf("count ledger entries: %w", err)
	}
	rows, err := s.q.ListLedgerEntries(ctx, db.ListLedgerEntriesParams{OrganizationID: org, LedgerID: ledgerID, AccountID: account, Lim: int32(limit), Off: int32(offset)})
	if err != nil {
		return nil, 0, fmt.Errorf("list ledger entries: %w", err)
	}
	return rows, total, nil
}

// Date is a day as Postgres takes it.
func Date(t time.Time) pgtype.Date {
	return pgtype.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}
