package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/expected"
)

// recordTransactions gives the expected-payments matcher the lines of a
// bank statement batch whose account is one of the organization's internal
// accounts (seed 004: statement imports produce transactions). Lines of
// other accounts stay evidence only. A run again inserts nothing new.
func (w *Worker) recordTransactions(ctx context.Context, b db.ImportBatch) error {
	after := int32(0)
	for {
		rows, err := w.q.ValidImportRows(ctx, db.ValidImportRowsParams{BatchID: &b.ID, After: after, Lim: 1000})
		if err != nil {
			return fmt.Errorf("read valid rows of batch %s: %w", b.ID, err)
		}
		if len(rows) == 0 {
			return nil
		}
		after = *rows[len(rows)-1].RowNumber
		lines := make([]expected.StatementLine, 0, len(rows))
		for _, r := range rows {
			l, err := statementLine(r)
			if err != nil {
				w.log.WarnContext(ctx, "statement line makes no transaction", "batch_id", b.ID.String(), "row", *r.RowNumber, "err", err.Error())
				continue
			}
			lines = append(lines, l)
		}
		res, err := w.expected.RecordStatementLines(ctx, b.OrganizationID, b.ID, lines)
		if err != nil {
			return fmt.Errorf("record transactions of batch %s: %w", b.ID, err)
		}
		for _, s := range res.Skipped {
			w.log.WarnContext(ctx, "statement line makes no transaction", "batch_id", b.ID.String(), "reason", s)
		}
		if res.Job != nil {
			if err := w.enq.Enqueue(ctx, *res.Job); err != nil {
				w.log.WarnContext(ctx, "enqueue expected payments match; left to the outbox sweeper", "batch_id", b.ID.String(), "err", err.Error())
			}
		}
	}
}

// statementLine reads back a bank statement row (bankPayload's output).
func statementLine(r db.ValidImportRowsRow) (expected.StatementLine, error) {
	var e bankEvidence
	if err := json.Unmarshal(r.Payload, &e); err != nil {
		return expected.StatementLine{}, fmt.Errorf("decode row: %w", err)
	}
	amount, err := decimal.NewFromString(e.Amount.Amount)
	if err != nil {
		return expected.StatementLine{}, fmt.Errorf("amount %q: %w", e.Amount.Amount, err)
	}
	day := e.BookingDate
	if day == nil {
		day = e.ValueDate
	}
	if day == nil {
		return expected.StatementLine{}, fmt.Errorf("the line has neither a booking nor a value date")
	}
	date, err := time.Parse(time.DateOnly, *day)
	if err != nil {
		return expected.StatementLine{}, fmt.Errorf("date %q: %w", *day, err)
	}
	ids := map[string]string{}
	set := func(k string, v *string) {
		if v != nil && *v != "" {
			ids[k] = *v
		}
	}
	set("end_to_end_id", e.EndToEndID)
	set("bank_reference", e.BankReference)
	for _, ref := range e.References {
		ids[ref.Type] = ref.Value
	}
	l := expected.StatementLine{
		RawRecordID: r.ID, Account: deref(e.BankAccount), Direction: e.Direction, Amount: amount,
		Currency: e.Amount.Currency, Date: date, Posted: e.Status == "booked", Identifiers: ids,
		CounterpartyName: deref(e.CounterpartyName), CounterpartyIBAN: e.Payload.CounterpartyAccount,
	}
	for _, d := range []*string{e.RemittanceInformation, &e.Payload.Description, e.BankReference} {
		if d != nil && *d != "" {
			l.Description = *d
			break
		}
	}
	return l, nil
}
