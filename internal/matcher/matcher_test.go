package matcher

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/match"
)

type fixture struct {
	pool *pgxpool.Pool
	q    *db.Queries
	m    *Service
	org  uuid.UUID
}

func setup(t testing.TB) fixture {
	t.Helper()
	pool := dbtest.Postgres(t)
	q := db.New(pool)
	o, err := q.CreateOrganization(context.Background(), "acme")
	require.NoError(t, err)
	return fixture{pool: pool, q: q, m: New(pool), org: o.ID}
}

func (f fixture) intent(t testing.TB, ref, amount string) intent.Result {
	t.Helper()
	r, err := intent.New(f.pool).Create(context.Background(), intent.CreateInput{
		OrganizationID: f.org, Actor: "test", ExternalReference: ref,
		SourceAmount: decimal.RequireFromString(amount), SourceCurrency: "USD",
		DestinationAmount: decimal.RequireFromString(amount), DestinationCurrency: "USD",
		PaymentType: "other", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}, nil)
	require.NoError(t, err)
	return r
}

// accept stores provider evidence as the api does and returns the receipt.
func (f fixture) accept(t testing.TB, body string) evidence.Receipt {
	t.Helper()
	var p evidence.Provider
	require.NoError(t, jsonUnmarshal(body, &p))
	r, err := evidence.New(f.pool).Accept(context.Background(), evidence.Submission{
		OrganizationID: f.org, Source: evidence.SourceProvider, SourceRef: p.SourceRef(), Payload: []byte(body),
	}, nil)
	require.NoError(t, err)
	return r
}

func (f fixture) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, f.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// A task delivered again after it ran — or run by two workers at once —
// leaves the state of one run and reports the same outcome.
func TestProcessIsIdempotent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	in := f.intent(t, "order_1", "100")
	r := f.accept(t, `{"provider":"p","providerTransferId":"tr_1","status":"completed","amount":{"amount":"100","currency":"USD"},"externalReference":"order_1"}`)
	require.Equal(t, 1, f.count(t, "task_outbox"), "the outbox marker is written with the raw record")

	ctx := context.Background()
	outs := make(chan Outcome, 4)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			out, err := f.m.Process(ctx, f.org, r.Raw.ID, r.Job.ID)
			outs <- out
			errs <- err
		}()
	}
	var first Outcome
	for i := range 4 {
		require.NoError(t, <-errs)
		// Strategy says how a run placed the record; a replay placed nothing.
		out := withoutStrategy(<-outs)
		if i == 0 {
			first = out
		}
		require.Equal(t, first, out)
	}
	require.Equal(t, match.Matched, first.Status)
	require.Equal(t, []uuid.UUID{in.Case.ID}, first.MatchedCaseIDs)
	require.Equal(t, 1, f.count(t, "flow_legs"))
	require.Equal(t, 1, f.count(t, "match_links"))
	require.Equal(t, 0, f.count(t, "task_outbox"), "handled: the outbox row went with the work")
	var received int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE event_type = 'evidence.received'").Scan(&received))
	require.Equal(t, 1, received)
}

// The raw payload can never be edited, nor the record deleted.
func TestRawRecordsAreImmutable(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := f.accept(t, `{"provider":"p","providerTransferId":"tr_1","status":"completed","amount":{"amount":"1","currency":"USD"}}`)
	ctx := context.Background()
	_, err := f.pool.Exec(ctx, `UPDATE raw_records SET payload = '{}' WHERE id = $1`, r.Raw.ID)
	require.ErrorContains(t, err, "immutable")
	_, err = f.pool.Exec(ctx, `DELETE FROM raw_records WHERE id = $1`, r.Raw.ID)
	require.ErrorContains(t, err, "never deleted")
	_, err = f.pool.Exec(ctx, `UPDATE raw_records SET match_status = 'unmatched' WHERE id = $1`, r.Raw.ID)
	require.NoError(t, err, "the match status may change")
}

// Two pieces of evidence for one case, matched at the same time, are
// serialized on the case row: the case ends up with both legs counted.
func TestConcurrentEvidenceForOneCase(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	in, err := intent.New(f.pool).Create(ctx, intent.CreateInput{
		OrganizationID: f.org, Actor: "test", ExternalReference: "order_1",
		SourceAmount: decimal.RequireFromString("100"), SourceCurrency: "USDC",
		DestinationAmount: decimal.RequireFromString("100"), DestinationCurrency: "USDC",
		PaymentType: "stablecoin", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}, nil)
	require.NoError(t, err)
	prov := f.accept(t, `{"provider":"p","providerTransferId":"tr_1","status":"completed","amount":{"amount":"100","currency":"USDC"},"externalReference":"order_1"}`)
	chainBody := `{"chainFamily":"evm","chainId":1,"txHash":"0x` + fmt.Sprintf("%064x", 1) + `","status":"confirmed","amount":{"amount":"100","currency":"USDC"},"externalReference":"order_1"}`
	var o evidence.Onchain
	require.NoError(t, jsonUnmarshal(chainBody, &o))
	chain, err := evidence.New(f.pool).Accept(ctx, evidence.Submission{OrganizationID: f.org, Source: evidence.SourceOnchain,
		SourceRef: o.SourceRef(), Payload: []byte(chainBody)}, nil)
	require.NoError(t, err)

	errs := make(chan error, 2)
	for _, r := range []evidence.Receipt{prov, chain} {
		go func() {
			_, err := f.m.Process(ctx, f.org, r.Raw.ID, r.Job.ID)
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	c, err := f.q.GetCaseByID(ctx, db.GetCaseByIDParams{OrganizationID: f.org, ID: in.Case.ID})
	require.NoError(t, err)
	require.Equal(t, "reconciled", c.ReconciliationStatus)
	require.EqualValues(t, 2, c.RequiredLegsPresent)
}

// BenchmarkFindCandidates measures the candidate search of one leg (the
// FindCandidates query and the decision) against 50,000 open cases.
func BenchmarkFindCandidates(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	_, err := f.pool.Exec(ctx, `
WITH snap AS (
    INSERT INTO rule_snapshots (organization_id, digest, snapshot)
    VALUES ($1, sha256('bench'), '{"name":"default","isActive":true,"amountTolerance":"0","amountToleranceBps":0,
      "timeWindowMinutes":1440,"allowExplicitIdMatch":true,"allowProviderIdMatch":true,"allowTxHashMatch":true,
      "allowReferenceExactMatch":true,"allowAmountAndTimeWindowMatch":true,"requiredLegTypes":["provider_transfer"],
      "requireAllRequiredLegs":true,"expectedCompletionMinutes":1440,"slaRiskThresholdPercent":80,
      "delayedSettlementThresholdMinutes":720}')
    RETURNING id
), pi AS (
    INSERT INTO payment_intents (organization_id, external_reference, source_amount, source_currency,
        destination_amount, destination_currency, payment_type, direction, provider_transfer_id, created_at)
    SELECT $1, 'bench-' || g, 100 + g, 'USD', 100 + g, 'USD', 'other', 'debit', 'tr_' || g, now() - g * interval '1 second'
    FROM generate_series(1, 50000) g
    RETURNING id, organization_id, destination_amount, created_at
)
INSERT INTO reconciliation_cases (organization_id, payment_intent_id, expected_amount, expected_currency,
    required_legs_total, coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_snapshot_id, created_at)
SELECT organization_id, id, destination_amount, 'USD', 1, 'missing', 'not_required', 'not_required', 'not_required',
    (SELECT id FROM snap), created_at FROM pi`, f.org)
	require.NoError(b, err)
	_, err = f.pool.Exec(ctx, "ANALYZE")
	require.NoError(b, err)
	leg := func(ref *string, amount string) db.FlowLeg {
		r := f.accept(b, `{"provider":"p","providerTransferId":"tr_x`+uuid.NewString()+`","status":"completed","amount":{"amount":"`+amount+`","currency":"USD"}}`)
		fl, err := f.q.InsertFlowLeg(ctx, db.InsertFlowLegParams{ID: uuid.New(), OrganizationID: f.org, RawRecordID: r.Raw.ID, Type: "provider_transfer",
			Status: "settled", SourceStatus: "completed", ExternalReference: ref,
			Amount: numericFrom(amount), Currency: "USD", ReferenceValues: []string{"INV-1"}, OccurredAt: r.Raw.ReceivedAt})
		require.NoError(b, err)
		return fl
	}
	for _, bc := range []struct {
		name string
		leg  db.FlowLeg
	}{
		// The common case: the evidence names its intent.
		{"explicit reference", leg(ptr("bench-777"), "877")},
		// The worst case: no key at all; every strategy is tried, and the
		// amount finds one open case in the window.
		{"amount and window only", leg(nil, "877")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				d, err := f.m.decide(ctx, f.q, bc.leg)
				if err != nil || d.Kind != match.Matched {
					b.Fatal(err, d.Kind)
				}
			}
		})
	}
}

// ProcessMany gives each record the outcome Process would: the fast path
// (evidence naming its intent) for the batch at once, the rest one by one.
func TestProcessManyMatchesLikeProcess(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	stable := func(ref string) intent.Result {
		r, err := intent.New(f.pool).Create(ctx, intent.CreateInput{
			OrganizationID: f.org, Actor: "test", ExternalReference: ref,
			SourceAmount: decimal.RequireFromString("50"), SourceCurrency: "USDC",
			DestinationAmount: decimal.RequireFromString("50"), DestinationCurrency: "USDC",
			PaymentType: "stablecoin", Direction: "debit", ProviderTransferID: ptr("tr_" + ref),
			References: []byte("[]"), Metadata: []byte("{}"),
		}, nil)
		require.NoError(t, err)
		return r
	}
	a, b, c := stable("order_a"), stable("order_b"), stable("order_c")
	other := f.intent(t, "order_d", "10")

	accept := func(source, body string) evidence.Receipt {
		t.Helper()
		var ref string
		switch source {
		case evidence.SourceProvider:
			var p evidence.Provider
			require.NoError(t, jsonUnmarshal(body, &p))
			ref = p.SourceRef()
		default:
			var o evidence.Onchain
			require.NoError(t, jsonUnmarshal(body, &o))
			ref = o.SourceRef()
		}
		r, err := evidence.New(f.pool).Accept(ctx, evidence.Submission{OrganizationID: f.org, Source: source, SourceRef: ref, Payload: []byte(body)}, nil)
		require.NoError(t, err)
		return r
	}
	hash := func(i int) string { return "0x" + fmt.Sprintf("%064x", i) }
	// Both legs of case a in one batch: evaluated once, with both.
	aProv := accept("provider", `{"provider":"p","providerTransferId":"tr_order_a","status":"completed","amount":{"amount":"50","currency":"USDC"},"externalReference":"order_a"}`)
	aChain := accept("onchain", `{"chainFamily":"evm","chainId":1,"txHash":"`+hash(1)+`","status":"confirmed","amount":{"amount":"50","currency":"USDC"},"externalReference":"order_a"}`)
	// Case b's provider leg carries no externalReference: the provider id
	// finds it, on the record's own path.
	bProv := accept("provider", `{"provider":"p","providerTransferId":"tr_order_b","status":"completed","amount":{"amount":"50","currency":"USDC"}}`)
	// A reference nobody has: unmatched, waiting for its intent.
	lost := accept("provider", `{"provider":"p","providerTransferId":"tr_lost","status":"completed","amount":{"amount":"50","currency":"USDC"},"externalReference":"order_z"}`)
	// Case c: a short amount, on the fast path.
	cProv := accept("provider", `{"provider":"p","providerTransferId":"tr_order_c","status":"completed","amount":{"amount":"49","currency":"USDC"},"externalReference":"order_c"}`)
	// Processed before the batch: reported, not redone.
	dProv := accept("provider", `{"provider":"p","providerTransferId":"tr_d","status":"completed","amount":{"amount":"10","currency":"USD"},"externalReference":"order_d"}`)
	before, err := f.m.Process(ctx, f.org, dProv.Raw.ID, dProv.Job.ID)
	require.NoError(t, err)

	ids := []uuid.UUID{aProv.Raw.ID, aChain.Raw.ID, bProv.Raw.ID, lost.Raw.ID, cProv.Raw.ID, dProv.Raw.ID, uuid.New()}
	outs, err := f.m.ProcessMany(ctx, ids)
	require.NoError(t, err)
	require.Len(t, outs, 6, "every existing record has an outcome; the unknown id none")
	require.Equal(t, []uuid.UUID{a.Case.ID}, outs[aProv.Raw.ID].MatchedCaseIDs)
	require.Equal(t, []uuid.UUID{a.Case.ID}, outs[aChain.Raw.ID].MatchedCaseIDs)
	require.Equal(t, []uuid.UUID{b.Case.ID}, outs[bProv.Raw.ID].MatchedCaseIDs)
	require.Equal(t, match.Unmatched, outs[lost.Raw.ID].Status)
	require.Equal(t, []uuid.UUID{c.Case.ID}, outs[cProv.Raw.ID].MatchedCaseIDs)
	require.Equal(t, withoutStrategy(before), outs[dProv.Raw.ID])
	require.Equal(t, match.ExplicitID, outs[cProv.Raw.ID].Strategy)
	require.Equal(t, match.ProviderID, outs[bProv.Raw.ID].Strategy)

	get := func(id uuid.UUID) db.ReconciliationCase {
		cs, err := f.q.GetCaseByID(ctx, db.GetCaseByIDParams{OrganizationID: f.org, ID: id})
		require.NoError(t, err)
		return cs
	}
	ca := get(a.Case.ID)
	require.Equal(t, "reconciled", ca.ReconciliationStatus)
	require.Equal(t, "resolved", ca.Status)
	require.EqualValues(t, 2, ca.RequiredLegsPresent)
	require.EqualValues(t, 2, ca.Version, "evaluated once for both legs")
	cb := get(b.Case.ID)
	require.Equal(t, "missing_leg", *cb.ExceptionType, "provider present, chain missing")
	cc := get(c.Case.ID)
	require.Equal(t, "1", cc.UnexplainedDelta.Dec().String())
	require.Equal(t, "unreconciled", cc.ReconciliationStatus)
	require.Equal(t, "resolved", get(other.Case.ID).Status)

	require.Zero(t, f.count(t, "task_outbox"), "every record's outbox row went with its work")
	require.Equal(t, 6, f.count(t, "flow_legs"), "one leg per record, none twice")
	var received, evaluated, events int
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE event_type = 'evidence.received'").Scan(&received))
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE event_type = 'case.evaluated' AND case_id = $1", a.Case.ID).Scan(&evaluated))
	require.NoError(t, f.pool.QueryRow(ctx, "SELECT count(*) FROM event_outbox WHERE case_id = $1 AND event_type = 'reconciliation_case.reconciled'", a.Case.ID).Scan(&events))
	require.Equal(t, 6, received)
	var onIntents int
	require.NoError(t, f.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events
		WHERE event_type IN ('evidence.received', 'leg.normalized') AND payment_intent_id IS NOT NULL`).Scan(&onIntents))
	require.Equal(t, 10, onIntents, "the matched records' events are on their intents' trails (not the unmatched one's)")
	require.Equal(t, 1, evaluated)
	require.Equal(t, 1, events)

	// The same batch again: nothing new.
	again, err := f.m.ProcessMany(ctx, ids)
	require.NoError(t, err)
	for id, o := range outs {
		require.Equal(t, withoutStrategy(o), again[id])
	}
	require.Equal(t, 6, f.count(t, "flow_legs"))
}

func withoutStrategy(o Outcome) Outcome {
	o.Strategy = ""
	return o
}
