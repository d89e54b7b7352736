package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/expected"
)

// benchExpected runs `reconlayer bench expected`: n expected payments
// against n transactions on one internal account, reconciled end to end
// through Postgres. Per run, in a fresh organization: the expected payments
// are seeded with SQL (untimed); then the transactions are stored in chunks
// by the bulk insert meant for statement imports (timed: ingest), and the
// matcher (expected:match's MatchPending, on -workers connections at once,
// as that many workers would) reconciles them (timed: match). The data:
// non-overlapping amount ranges; half the payments have date bounds, one in
// ten takes instalments by a custom identifier (two transactions fill it);
// one transaction in twenty fits nothing.
func benchExpected(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench expected", flag.ContinueOnError)
	n := fs.Int("n", 100000, "expected payments, and transactions")
	runs := fs.Int("runs", 3, "repetitions (medians are reported)")
	workers := fs.Int("workers", 2, "matchers running at once")
	chunk := fs.Int("chunk", 5000, "transactions stored per statement")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the matching to this file")
	keep := fs.Bool("keep-db", false, "keep the scratch database afterwards")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *n < 20 || *runs < 1 || *workers < 1 || *chunk < 1 {
		return usageError("bench expected: -n at least 20; -runs, -workers and -chunk positive")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	s, err := newScratch(ctx, cfg.DatabaseURL, 4+*workers)
	if err != nil {
		return err
	}
	s.keep = *keep
	defer s.close()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	svc := expected.New(s.pool)
	q := db.New(s.pool)

	type result struct{ ingest, match, total float64 }
	var rs []result
	for i := range *runs {
		org, err := q.CreateOrganization(ctx, fmt.Sprintf("bench %d", i))
		if err != nil {
			return err
		}
		acct, err := svc.CreateAccount(ctx, org.ID, expected.AccountInput{Name: "Operating", Currency: "USD", Metadata: []byte("{}")}, nil)
		if err != nil {
			return err
		}
		seedStart := time.Now()
		if err := seedExpected(ctx, s, org.ID, acct.ID, *n); err != nil {
			return err
		}
		seeded := time.Since(seedStart)

		txs := benchTransactions(org.ID, acct.ID, *n, *chunk)
		var r result
		start := time.Now()
		for _, p := range txs {
			if _, err := q.InsertStatementTransactions(ctx, p); err != nil {
				return fmt.Errorf("store transactions: %w", err)
			}
		}
		// What autovacuum does after a bulk load; timed, as part of ingest.
		if _, err := s.pool.Exec(ctx, "ANALYZE transactions"); err != nil {
			return err
		}
		ingested := time.Now()
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			total   expected.MatchResult
			matchEr error
		)
		for range *workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := svc.MatchPending(ctx, org.ID, "")
				mu.Lock()
				defer mu.Unlock()
				total.Transactions += res.Transactions
				total.Reconciled += res.Reconciled
				total.Review += res.Review
				if err != nil {
					matchEr = err
				}
			}()
		}
		wg.Wait()
		if matchEr != nil {
			return matchEr
		}
		done := time.Now()
		r.ingest = float64(*n) / ingested.Sub(start).Seconds()
		r.match = float64(*n) / done.Sub(ingested).Seconds()
		r.total = float64(*n) / done.Sub(start).Seconds()
		var reconciled, partial int64
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'reconciled'), count(*) FILTER (WHERE status = 'partially_reconciled')
			FROM expected_payments WHERE organization_id = $1`, org.ID).Scan(&reconciled, &partial); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "run %d: seeded %d expected payments in %.1f s (untimed) | ingest %.0f tx/s | match %.0f tx/s (%d looked at, %d reconciled, %d for review) | end to end %.0f tx/s | payments reconciled %d, partially %d\n",
			i+1, *n, seeded.Seconds(), r.ingest, r.match, total.Transactions, total.Reconciled, total.Review, r.total, reconciled, partial)
		if total.Transactions != *n || total.Reconciled < *n*9/10 {
			return fmt.Errorf("bench expected: %d of %d transactions looked at, %d reconciled: want all looked at and at least 90%% reconciled",
				total.Transactions, *n, total.Reconciled)
		}
		rs = append(rs, r)
	}
	fmt.Fprintf(stdout, "\nmedian of %d runs, n = %d, %d matchers, GOMAXPROCS %d, %s:\n  ingest %.0f tx/s   match %.0f tx/s   end to end %.0f tx/s\n",
		*runs, *n, *workers, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly),
		median(rs, func(r result) float64 { return r.ingest }), median(rs, func(r result) float64 { return r.match }),
		median(rs, func(r result) float64 { return r.total }))
	return nil
}

// seedExpected stores n expected payments: payment i expects a credit of
// 1000+10i to 1000+10i+5 minor units; even ones between 2024-05-01 and
// 2024-05-31; every tenth by custom identifier payment_id p<i>, taking
// instalments.
func seedExpected(ctx context.Context, s *scratch, org, acct uuid.UUID, n int) error {
	_, err := s.pool.Exec(ctx, `
INSERT INTO expected_payments (organization_id, direction, currency, amount_lower_bound, amount_upper_bound,
    date_lower_bound, date_upper_bound, internal_account_id, external_id, reconciliation_rule_variables, created_at)
SELECT $1, 'credit', 'USD', 1000 + 10 * i, 1000 + 10 * i + 5,
       CASE WHEN i % 2 = 0 THEN date '2024-05-01' END, CASE WHEN i % 2 = 0 THEN date '2024-05-31' END,
       $2::uuid, 'ep-' || i,
       CASE WHEN i % 10 = 0 THEN jsonb_build_array(jsonb_build_object('direction', 'credit',
           'amount_lower_bound', 1000 + 10 * i, 'amount_upper_bound', 1000 + 10 * i + 5,
           'internal_account_id', $2::text, 'custom_identifiers', jsonb_build_object('payment_id', 'p' || i))) END,
       now() + i * interval '1 microsecond'
FROM generate_series(0, $3 - 1) AS i`, org, acct, n)
	if err != nil {
		return fmt.Errorf("seed expected payments: %w", err)
	}
	_, err = s.pool.Exec(ctx, `
INSERT INTO expected_payment_variables (expected_payment_id, idx, organization_id, internal_account_id, direction, currency,
    amount_lower_bound, amount_upper_bound, date_lower_bound, date_upper_bound, custom_identifiers, instalment_key)
SELECT id, 0, organization_id, internal_account_id, direction, currency, amount_lower_bound, amount_upper_bound,
       date_lower_bound, date_upper_bound,
       CASE WHEN reconciliation_rule_variables IS NULL THEN '{}'::jsonb
            ELSE reconciliation_rule_variables -> 0 -> 'custom_identifiers' END,
       CASE WHEN reconciliation_rule_variables IS NOT NULL THEN 'payment_id=p' || substr(external_id, 4) END
FROM expected_payments WHERE organization_id = $1`, org)
	if err != nil {
		return fmt.Errorf("seed rule variables: %w", err)
	}
	_, err = s.pool.Exec(ctx, "ANALYZE expected_payments, expected_payment_variables, transactions")
	return err
}

// benchTransactions builds n transactions in chunks: transaction i fits
// payment i (two halves for an instalment payment), except every
// twentieth, whose amount falls between two ranges.
func benchTransactions(org, acct uuid.UUID, n, chunk int) []db.InsertStatementTransactionsParams {
	var out []db.InsertStatementTransactionsParams
	asOf := pgtype.Date{Time: time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC), Valid: true}
	batch := uuid.New()
	var p db.InsertStatementTransactionsParams
	add := func(amount int64, ids map[string]string) {
		if len(p.Amounts) == 0 {
			p = db.InsertStatementTransactionsParams{OrganizationID: org, InternalAccountID: acct, ImportBatchID: &batch}
		}
		raw, _ := json.Marshal(ids)
		key, _ := json.Marshal(expected.Normalize(ids))
		p.Directions = append(p.Directions, "credit")
		p.Amounts = append(p.Amounts, amount)
		p.Currencies = append(p.Currencies, "USD")
		p.AsOfDates = append(p.AsOfDates, asOf)
		p.Posted = append(p.Posted, true)
		p.VendorDescriptions = append(p.VendorDescriptions, "bench")
		p.CustomIdentifiers = append(p.CustomIdentifiers, string(raw))
		p.IdentifiersKeys = append(p.IdentifiersKeys, string(key))
		p.CounterpartyNames = append(p.CounterpartyNames, "")
		p.CounterpartyAccounts = append(p.CounterpartyAccounts, "")
		p.CounterpartyIbans = append(p.CounterpartyIbans, "")
		p.RawRecordIds = append(p.RawRecordIds, uuid.New())
		if len(p.Amounts) == chunk {
			out = append(out, p)
			p = db.InsertStatementTransactionsParams{}
		}
	}
	for i := 0; i < n; {
		base := int64(1000 + 10*i)
		switch {
		case i%20 == 19:
			add(base+7, map[string]string{})
			i++
		case i%10 == 0 && i+1 < n:
			// An instalment payment: two transactions fill it; the
			// next payment gets none (n transactions in all).
			ids := map[string]string{"payment_id": fmt.Sprintf("P%d", i)}
			add(base-194, ids)
			add(197, ids)
			i += 2
		default:
			add(base+int64(i%6), map[string]string{})
			i++
		}
	}
	if len(p.Amounts) > 0 {
		out = append(out, p)
	}
	return out
}
