package importer

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/statement"
)

// ledgerProfile reads "ref,amount,currency,type,beneficiary,note" files as
// payment intents.
func (b *bundle) ledgerProfile(t *testing.T) uuid.UUID {
	t.Helper()
	p, err := b.svc.CreateProfile(context.Background(), b.org, ProfileInput{Name: "ledger", RecordType: RecordLedger,
		Settings: statement.Profile{Fields: []statement.FieldMapping{
			{Column: "ref", Path: "externalReference"}, {Column: "amount", Path: "sourceAmount"},
			{Column: "currency", Path: "sourceCurrency"}, {Column: "type", Path: "paymentType"},
			{Column: "beneficiary", Path: "beneficiaryName"}, {Column: "note", Path: "metadata.note"},
		}}}, nil)
	require.NoError(t, err)
	return p.ID
}

func (b *bundle) intent(t *testing.T, ref, amount string) db.PaymentIntent {
	t.Helper()
	res, err := intent.New(b.pool).Create(context.Background(), intent.CreateInput{
		OrganizationID: b.org, Actor: "test", ExternalReference: ref,
		SourceAmount: decimal.RequireFromString(amount), SourceCurrency: "USD",
		DestinationAmount: decimal.RequireFromString(amount), DestinationCurrency: "USD",
		PaymentType: "bank", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}, nil)
	require.NoError(t, err)
	return res.Intent
}

func (b *bundle) rowsByLine(t *testing.T, batchID uuid.UUID) map[int32]db.RawRecord {
	t.Helper()
	rows, _, err := b.svc.Rows(context.Background(), b.org, batchID, nil, 0, 100, 0)
	require.NoError(t, err)
	out := map[int32]db.RawRecord{}
	for _, r := range rows {
		out[*r.RowNumber] = r
	}
	return out
}

func rowErrors(t *testing.T, r db.RawRecord) []string {
	t.Helper()
	var errs []string
	require.NoError(t, json.Unmarshal(r.ValidationErrors, &errs))
	return errs
}

// A client_internal_ledger CSV: rows the payment intent API would refuse
// are invalid for the same reasons; valid rows become intents with their
// cases once parsed, or find the identical intent; a row whose
// externalReference exists with other fields turns invalid naming each
// difference; running the task again records nothing twice.
func TestLedgerImportRecordsPaymentIntents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	existing := b.intent(t, "INV-EXIST", "100")
	same := b.intent(t, "INV-SAME", "75.5")

	sub := b.submit(t, Upload{ProfileID: ptr(b.ledgerProfile(t)), FileName: "ledger.csv", Content: []byte(
		"ref,amount,currency,type,beneficiary,note\n" +
			"INV-1,100.00,USD,bank,Alice,first\n" + // 2: created
			"INV-2,50,XYZ,bank,,\n" + // 3: unknown currency
			"INV-EXIST,120.00,USD,bank,,\n" + // 4: conflicts with the stored 100
			"INV-SAME,75.50,USD,bank,,\n" + // 5: the stored intent, same fields
			"INV-1,100,USD,bank,Alice,first\n" + // 6: line 2 again
			"INV-3,-5,USD,bank,,\n" + // 7: not positive
			"INV-4,10,USD,teleport,,\n")}) // 8: no such payment type
	require.Equal(t, RecordLedger, sub.Batch.RecordType)
	require.NoError(t, b.w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	batch, err := b.svc.GetBatch(ctx, b.org, sub.Batch.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, batch.Status, "%v", batch.Error)
	require.EqualValues(t, 7, batch.TotalRows)
	require.EqualValues(t, 4, batch.ValidRows)
	require.EqualValues(t, 3, batch.InvalidRows)

	rows := b.rowsByLine(t, batch.ID)
	require.Equal(t, SourceLedger, rows[2].Source)
	require.JSONEq(t, `{"externalReference":"INV-1","sourceAmount":"100","sourceCurrency":"USD","paymentType":"bank",
		"beneficiaryName":"Alice","metadata":{"note":"first"}}`, string(rows[2].Payload))
	require.Equal(t, []string{"line 3: sourceCurrency: Must be an upper-case ISO 4217 code or a supported token symbol (e.g. USD, USDC)."}, rowErrors(t, rows[3]))
	require.Equal(t, []string{"line 7: sourceAmount: Must be greater than zero."}, rowErrors(t, rows[7]))
	require.Len(t, rowErrors(t, rows[8]), 1)
	require.Contains(t, rowErrors(t, rows[8])[0], "line 8: paymentType: Required; one of ")

	// Parsed rows are not payment intents yet, and never evidence.
	var intents int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM payment_intents WHERE organization_id = $1`, b.org).Scan(&intents))
	require.Equal(t, 2, intents)
	evidence, _ := b.q.CountRawRecords(ctx, db.CountRawRecordsParams{OrganizationID: b.org})
	require.Zero(t, evidence, "ledger rows are not listed as evidence")

	require.NoError(t, b.w.Match(ctx, batch.ID, NewMatchJob(batch).ID))
	batch, err = b.svc.GetBatch(ctx, b.org, batch.ID)
	require.NoError(t, err)
	require.EqualValues(t, 3, batch.ValidRows, "the conflicting row turned invalid")
	require.EqualValues(t, 4, batch.InvalidRows)
	require.EqualValues(t, 3, batch.MatchedRows)

	rows = b.rowsByLine(t, batch.ID)
	created, err := b.q.GetPaymentIntentByExternalReference(ctx, db.GetPaymentIntentByExternalReferenceParams{OrganizationID: b.org, ExternalReference: "INV-1"})
	require.NoError(t, err)
	require.Equal(t, "Alice", *created.BeneficiaryName)
	require.JSONEq(t, `{"note":"first"}`, string(created.Metadata))
	require.Equal(t, "debit", created.Direction, "the API's default")
	_, err = b.q.GetCaseByIntent(ctx, db.GetCaseByIntentParams{OrganizationID: b.org, PaymentIntentID: created.ID})
	require.NoError(t, err, "the intent has its case")
	for line, want := range map[int32]uuid.UUID{2: created.ID, 5: same.ID, 6: created.ID} {
		require.Equal(t, "matched", rows[line].MatchStatus, "line %d", line)
		require.Equal(t, want, *rows[line].PaymentIntentID, "line %d", line)
	}
	require.Equal(t, "invalid", *rows[4].ValidationStatus)
	require.Equal(t, "invalid", rows[4].MatchStatus)
	require.Nil(t, rows[4].PaymentIntentID)
	require.Equal(t, []string{`line 4: payment intent ` + existing.ID.String() + ` (externalReference "INV-EXIST") exists with other fields: ` +
		`sourceAmount is "100" there, "120" here; destinationAmount is "100" there, "120" here`}, rowErrors(t, rows[4]))
	stored, err := b.q.GetPaymentIntent(ctx, db.GetPaymentIntentParams{OrganizationID: b.org, ID: existing.ID})
	require.NoError(t, err)
	require.Equal(t, "100", stored.SourceAmount.Dec().String(), "a conflict changes nothing")

	// Again (a redelivered task): nothing more is recorded.
	var audit int
	count := func() (int, int) {
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM payment_intents WHERE organization_id = $1`, b.org).Scan(&intents))
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE organization_id = $1`, b.org).Scan(&audit))
		return intents, audit
	}
	i1, a1 := count()
	require.Equal(t, 3, i1)
	require.NoError(t, b.w.Match(ctx, batch.ID, NewMatchJob(batch).ID))
	i2, a2 := count()
	require.Equal(t, i1, i2)
	require.Equal(t, a1, a2)
	again, err := b.svc.GetBatch(ctx, b.org, batch.ID)
	require.NoError(t, err)
	require.Equal(t, [3]int32{3, 4, 3}, [3]int32{again.ValidRows, again.InvalidRows, again.MatchedRows})
}

// Ledger files are CSV through a profile: another format is refused.
func TestLedgerImportNeedsCSV(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.svc.Submit(context.Background(), Upload{OrganizationID: b.org, CreatedBy: "test", FileName: "x.sta", RecordType: RecordLedger,
		Content: fixture(t, "mt940", "jejik-mt940__abnamro.txt")}, nil)
	var in *InputError
	require.True(t, errors.As(err, &in), "%v", err)
	require.Equal(t, "recordType", in.Field)
}

func ptr[T any](v T) *T { return &v }
