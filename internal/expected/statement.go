package expected

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// StatementLine is one entry of an imported bank statement, as the import
// stored it (its raw record).
type StatementLine struct {
	RawRecordID uuid.UUID
	// Account is the statement's account identifier (an IBAN or an account
	// number) that attributes the line to an internal account.
	Account     string
	Direction   string
	Amount      decimal.Decimal
	Currency    string
	Date        time.Time
	Posted      bool
	Description string
	// Identifiers become the transaction's custom identifiers, which rule
	// variables can require (e.g. end_to_end_id).
	Identifiers      map[string]string
	CounterpartyName string
	CounterpartyIBAN string
}

// StatementResult is what RecordStatementLines did with a chunk of lines.
type StatementResult struct {
	// Inserted counts new transactions; lines recorded by an earlier run
	// are not counted again.
	Inserted int64
	// Unattributed counts lines whose account is no internal account of
	// the organization (or names two of them): they stay evidence only.
	Unattributed int
	// Skipped says why lines of an internal account made no transaction.
	Skipped []string
	// Job is the matcher task to enqueue once committed (nil: none).
	Job *tasks.Job
}

// RecordStatementLines turns the lines of a bank statement import whose
// account is an internal account's into transactions for the matcher, in
// one database transaction with the matcher's task in the outbox. Amounts
// become minor units of their currency. Running it again on the same lines
// inserts nothing (a transaction is keyed by its raw record).
func (s *Service) RecordStatementLines(ctx context.Context, org, batchID uuid.UUID, lines []StatementLine) (StatementResult, error) {
	var res StatementResult
	accounts := map[string]*db.InternalAccountsForStatementRow{}
	byAccount := map[uuid.UUID]*db.InsertStatementTransactionsParams{}
	var order []uuid.UUID
	for _, l := range lines {
		ident := normalizeAccount(l.Account)
		a, seen := accounts[ident]
		if !seen {
			var err error
			if a, err = s.accountFor(ctx, org, ident); err != nil {
				return res, err
			}
			accounts[ident] = a
		}
		if a == nil {
			res.Unattributed++
			continue
		}
		minor, err := minorUnits(l.Amount, l.Currency)
		if err != nil {
			res.Skipped = append(res.Skipped, fmt.Sprintf("raw record %s: %v", l.RawRecordID, err))
			continue
		}
		p := byAccount[a.ID]
		if p == nil {
			p = &db.InsertStatementTransactionsParams{OrganizationID: org, InternalAccountID: a.ID, ImportBatchID: &batchID}
			byAccount[a.ID] = p
			order = append(order, a.ID)
		}
		raw, key := identifiersJSON(l.Identifiers)
		p.Directions = append(p.Directions, l.Direction)
		p.Amounts = append(p.Amounts, minor)
		p.Currencies = append(p.Currencies, l.Currency)
		p.AsOfDates = append(p.AsOfDates, Date(&l.Date))
		p.Posted = append(p.Posted, l.Posted)
		p.VendorDescriptions = append(p.VendorDescriptions, l.Description)
		p.CustomIdentifiers = append(p.CustomIdentifiers, string(raw))
		p.IdentifiersKeys = append(p.IdentifiersKeys, string(key))
		p.CounterpartyNames = append(p.CounterpartyNames, l.CounterpartyName)
		p.CounterpartyAccounts = append(p.CounterpartyAccounts, "")
		p.CounterpartyIbans = append(p.CounterpartyIbans, l.CounterpartyIBAN)
		p.RawRecordIds = append(p.RawRecordIds, l.RawRecordID)
	}
	if len(order) == 0 {
		return res, nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		for _, id := range order {
			n, err := q.InsertStatementTransactions(ctx, *byAccount[id])
			if err != nil {
				return fmt.Errorf("insert statement transactions of account %s: %w", id, err)
			}
			res.Inserted += n
		}
		if res.Inserted == 0 {
			return nil
		}
		job := MatchJob(org, "import:"+batchID.String())
		res.Job = &job
		return tasks.Record(ctx, q, job)
	})
	if err != nil {
		res.Inserted, res.Job = 0, nil
		return res, err
	}
	return res, nil
}

// accountFor is the one internal account ident names, nil when none (or
// more than one) does.
func (s *Service) accountFor(ctx context.Context, org uuid.UUID, ident string) (*db.InternalAccountsForStatementRow, error) {
	if ident == "" {
		return nil, nil
	}
	rows, err := s.q.InternalAccountsForStatement(ctx, db.InternalAccountsForStatementParams{OrganizationID: org, Identifier: ident})
	if err != nil {
		return nil, fmt.Errorf("find internal account for statement account %q: %w", ident, err)
	}
	if len(rows) != 1 {
		return nil, nil
	}
	return &rows[0], nil
}

// normalizeAccount compares identifiers the way banks print them: without
// spaces, upper-cased.
func normalizeAccount(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// minorUnits converts amount to whole minor units of currency.
func minorUnits(amount decimal.Decimal, currency string) (int64, error) {
	c, ok := money.LookupCurrency(currency)
	if !ok {
		return 0, fmt.Errorf("currency %q has no known minor unit", currency)
	}
	minor := amount.Abs().Shift(c.Decimals)
	if !minor.IsInteger() {
		return 0, fmt.Errorf("amount %s %s is not a whole number of minor units", amount, currency)
	}
	if minor.Sign() <= 0 || minor.GreaterThan(decimal.New(1, 15)) {
		return 0, fmt.Errorf("amount %s %s is outside 1 to 10^15 minor units", amount, currency)
	}
	return minor.IntPart(), nil
}
