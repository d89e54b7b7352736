package importer

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/expected"
)

// A bank statement of an internal account (its IBAN, printed with spaces)
// gives the expected-payments matcher a transaction per line, in minor
// units, with the line's identifiers; an expected payment that waited for
// one of them is reconciled. Running the match task again adds nothing, and
// a statement of an account the organization does not hold gives none.
func TestStatementImportProducesTransactions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	exp := expected.New(b.pool)
	iban := "DE14 7406 1813 0000 0336 26" // the fixture's account, as people write it
	account, err := exp.CreateAccount(ctx, b.org, expected.AccountInput{Name: "Operating", Currency: "EUR", IBAN: &iban, Metadata: []byte("{}")}, nil)
	require.NoError(t, err)

	// The payment the batch's second child transaction (3.50 EUR, debit)
	// settles: a rule variable requiring its end-to-end id.
	day := time.Date(2013, 12, 27, 0, 0, 0, 0, time.UTC)
	created, err := exp.CreatePayment(ctx, b.org, expected.PaymentInput{Variables: []expected.VariableInput{{
		Direction: "debit", AmountLowerBound: 350, AmountUpperBound: 350, InternalAccountID: account.ID,
		DateLowerBound: &day, DateUpperBound: &day,
		CustomIdentifiers: map[string]string{"end_to_end_id": "STZV-EtE27122013-11:02-1"},
	}}, Metadata: []byte("{}")}, nil)
	require.NoError(t, err)

	sub := b.submit(t, Upload{Content: fixture(t, "camt053", "camt_parser__valid_example.xml"), FileName: "valid_example.xml"})
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.EqualValues(t, 5, batch.ValidRows)
	require.NoError(t, b.w.Match(ctx, batch.ID, NewMatchJob(batch).ID))

	type line struct {
		Direction string
		Amount    int64
		Currency  string
		Posted    bool
		E2E       *string
	}
	read := func() []line {
		rows, err := b.pool.Query(ctx, `SELECT direction, amount, currency, posted, custom_identifiers->>'end_to_end_id'
			FROM transactions t JOIN raw_records r ON r.id = t.raw_record_id
			WHERE t.import_batch_id = $1 AND t.internal_account_id = $2 ORDER BY r.row_number`, batch.ID, account.ID)
		require.NoError(t, err)
		defer rows.Close()
		var out []line
		for rows.Next() {
			var l line
			require.NoError(t, rows.Scan(&l.Direction, &l.Amount, &l.Currency, &l.Posted, &l.E2E))
			out = append(out, l)
		}
		require.NoError(t, rows.Err())
		return out
	}
	e2e := func(s string) *string { return &s }
	want := []line{
		{"debit", 200, "EUR", true, e2e("EndToEndReference")},
		{"debit", 300, "EUR", true, nil}, // NOTPROVIDED is no identifier
		{"credit", 100, "EUR", true, nil},
		{"debit", 350, "EUR", true, e2e("STZV-EtE27122013-11:02-1")},
		{"debit", 250, "EUR", true, e2e("STZV-EtE27122013-11:02-2")},
	}
	require.Equal(t, want, read())
	var outbox int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM task_outbox WHERE task_id = $1`,
		expected.MatchJob(b.org, "import:"+batch.ID.String()).ID).Scan(&outbox))
	require.Equal(t, 1, outbox, "the matcher's task is recorded with the transactions")

	// The match task again: nothing new.
	require.NoError(t, b.w.Match(ctx, batch.ID, NewMatchJob(batch).ID))
	require.Equal(t, want, read())

	res, err := exp.MatchPending(ctx, b.org, "")
	require.NoError(t, err)
	require.Equal(t, 5, res.Transactions)
	require.Equal(t, 1, res.Reconciled)
	p, txs, err := exp.GetPayment(ctx, b.org, created.Payment.ID)
	require.NoError(t, err)
	require.Equal(t, "reconciled", p.Status)
	require.Len(t, txs, 1)

	// Another organization's import of the same file: its account is not
	// that organization's, so no transaction.
	other := setup(t)
	sub = other.submit(t, Upload{Content: fixture(t, "camt053", "camt_parser__valid_example.xml"), FileName: "valid_example.xml"})
	require.NoError(t, other.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err = other.svc.GetBatch(ctx, other.org, sub.Batch.ID)
	require.NoError(t, err)
	require.NoError(t, other.w.Match(ctx, batch.ID, NewMatchJob(batch).ID))
	var n int
	require.NoError(t, other.pool.QueryRow(ctx, `SELECT count(*) FROM transactions`).Scan(&n))
	require.Zero(t, n)
}
