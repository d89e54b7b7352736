package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/sla"
)

// slaT0 is when every bench payment started (give or take slaSpread): the
// phases set the scorer's clock relative to it, so the outcome of each sweep
// is known in advance.
var slaT0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// slaSpread: intents are created over the slaSpread before slaT0, so their
// ages differ as real ones do, without any crossing a threshold between
// phases.
const slaSpread = 5 * time.Minute

// slaPhases are the sweeps of one run, in order, on the stablecoin default
// rule (delayed once a leg is missing 30 minutes after the payment started,
// at risk from 80% of 60 minutes, i.e. 48): each phase's clock puts every
// case, whatever its age within slaSpread, on the same side of both.
var slaPhases = []struct {
	name    string
	at      time.Duration // clock: slaT0 plus this
	changes bool          // every case is written (else none is)
	note    string
}{
	{"steady, nothing changes", 10 * time.Minute, false, "every case on time: scan and score only"},
	{"all become delayed", 35 * time.Minute, true, "every case written, with its audit and outbox rows"},
	{"all become at risk", 50 * time.Minute, true, "every case written again"},
	{"steady, all at risk", 55 * time.Minute, false, "already at risk: scan and score only"},
}

// benchSLA runs `reconlayer bench sla`: one SLA sweep (internal/sla) over n
// open cases, timed in each of slaPhases, repeated -runs times on the same
// cases (reset in between). Seeding is printed but not measured.
func benchSLA(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench sla", flag.ContinueOnError)
	n := fs.Int("n", 1_000_000, "open cases to score")
	runs := fs.Int("runs", 3, "repetitions (medians are reported)")
	chunk := fs.Int("chunk", sla.DefaultChunk, "cases per scoring statement")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the sweeps (this process only; Postgres does the scoring) to this file")
	keep := fs.Bool("keep-db", false, "keep the scratch database afterwards (to look at plans)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *n < 1 || *runs < 1 || *chunk < 1 {
		return usageError("bench sla: -n, -runs and -chunk must be positive")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	// Sweeps are sequential: one connection scores, a second is spare.
	s, err := newScratch(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	s.keep = *keep
	defer s.close()

	seedStart := time.Now()
	if err := seedSLA(ctx, s.pool, *n); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d open cases in %.1f s (not measured)\n", *n, time.Since(seedStart).Seconds())

	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	var results [][]float64 // seconds of each phase's sweep, per run
	for i := range *runs {
		if err := resetSLA(ctx, s.pool); err != nil {
			return err
		}
		run := make([]float64, len(slaPhases))
		line := make([]string, len(slaPhases))
		for p, phase := range slaPhases {
			at := slaT0.Add(phase.at)
			scorer := sla.New(s.pool).WithClock(func() time.Time { return at }).WithChunk(*chunk)
			start := time.Now()
			res, err := scorer.Sweep(ctx)
			elapsed := time.Since(start)
			if err != nil {
				return err
			}
			want := 0
			if phase.changes {
				want = *n
			}
			// A phase that scored other cases than planned measures
			// something else: stop rather than print its figure.
			if res.Visited != *n || res.Changed != want {
				return fmt.Errorf("bench sla: run %d, %q: visited %d and changed %d cases, want %d and %d",
					i+1, phase.name, res.Visited, res.Changed, *n, want)
			}
			run[p] = elapsed.Seconds()
			line[p] = fmt.Sprintf("%s %.2f s %.0f/s (visited %d, changed %d)", phase.name, run[p], float64(res.Visited)/run[p], res.Visited, res.Changed)
		}
		results = append(results, run)
		fmt.Fprintf(stdout, "run %d: %s\n", i+1, strings.Join(line, " | "))
	}

	fmt.Fprintf(stdout, "\nmedian of %d runs, n=%d, chunk %d, GOMAXPROCS %d, %s:\n",
		len(results), *n, *chunk, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
	for p, phase := range slaPhases {
		// The rate is of the median time, so the two figures always agree
		// (separate medians of an even count would pair different runs).
		secs := median(results, func(r []float64) float64 { return r[p] })
		fmt.Fprintf(stdout, "  %-24s %9.0f cases/s %7.2f s   (clock T0+%s: %s)\n", phase.name,
			float64(*n)/secs, secs, strings.TrimSuffix(phase.at.String(), "0s"), phase.note)
	}
	return nil
}

// seedSLA creates n open stablecoin cases with no evidence yet, in one
// statement (the columns are those of api's bulkCases), then vacuums and
// analyzes so the sweeps see settled tables and fresh statistics.
func seedSLA(ctx context.Context, pool *pgxpool.Pool, n int) error {
	org, err := db.New(pool).CreateOrganization(ctx, "bench")
	if err != nil {
		return err
	}
	snapshot, err := json.Marshal(rule.Default(rule.PaymentStablecoin))
	if err != nil {
		return err
	}
	// base_verdict and verdict NULL: no evaluation has run, so the SLA
	// overlay alone decides the verdict.
	if _, err := pool.Exec(ctx, `
WITH snap AS (
    INSERT INTO rule_snapshots (organization_id, digest, snapshot)
    VALUES ($1, sha256(convert_to($3::text, 'UTF8')), $3::jsonb)
    RETURNING id
), pi AS (
    INSERT INTO payment_intents (organization_id, external_reference, source_amount, source_currency,
        destination_amount, destination_currency, payment_type, direction, beneficiary_name,
        "references", metadata, created_at, updated_at)
    SELECT $1, 'bench-' || g, 100 + g % 1000, 'USD', 100 + g % 1000, 'USDC', 'stablecoin', 'debit',
        'Beneficiary ' || g, jsonb_build_array(jsonb_build_object('type', 'invoice', 'value', 'INV-' || g)),
        jsonb_build_object('customer', 'cus_' || g, 'channel', 'api'),
        $4::timestamptz - (g % $5::int) * interval '1 second', $4::timestamptz - (g % $5::int) * interval '1 second'
    FROM generate_series(1, $2::int) g
    RETURNING id, organization_id, destination_amount, created_at
)
INSERT INTO reconciliation_cases (organization_id, payment_intent_id, expected_amount, expected_currency,
    required_legs_total, coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_snapshot_id,
    status, reconciliation_status, base_verdict, verdict, created_at, updated_at)
SELECT organization_id, id, destination_amount, 'USDC', 2, 'missing', 'missing', 'not_required', 'not_required',
    (SELECT id FROM snap), 'open', 'unreconciled', NULL, NULL, created_at, created_at
FROM pi`, org.ID, n, string(snapshot), slaT0, int(slaSpread/time.Second)); err != nil {
		return fmt.Errorf("seed %d cases: %w", n, err)
	}
	_, err = pool.Exec(ctx, "VACUUM ANALYZE organizations, rule_snapshots, payment_intents, reconciliation_cases")
	return err
}

// resetSLA puts the cases back as seeded (none scored) with one UPDATE, and
// empties audit_events and event_outbox: each run's two changing phases add
// a row per case to each, and tables and indexes growing by millions of rows
// a run would make later runs slower for reasons that are not the sweep.
// audit_events refuses TRUNCATE by trigger (it is append-only); this is a
// scratch database, so the trigger is lifted for the statement only.
func resetSLA(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
UPDATE reconciliation_cases SET verdict = NULL, exception_type = NULL, sla_risk = false
WHERE verdict IS NOT NULL OR exception_type IS NOT NULL OR sla_risk;
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate;
TRUNCATE audit_events, event_outbox;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_truncate`)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset cases: %w", err)
	}
	_, err = pool.Exec(ctx, "VACUUM ANALYZE reconciliation_cases, audit_events, event_outbox")
	return err
}
