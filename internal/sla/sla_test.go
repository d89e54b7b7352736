package sla

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/rule"
)

type bundle struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	org   uuid.UUID
	rules []rule.Rule
	snaps []uuid.UUID
	now   time.Time
}

// setup gives a database with an organization and three rule snapshots: the
// stablecoin and bank defaults, and a custom rule with short thresholds that
// requires a provider leg and a file record.
func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Postgres(t)
	b := &bundle{pool: pool, q: db.New(pool), now: time.Now().UTC().Truncate(time.Second)}
	o, err := b.q.CreateOrganization(ctx, "Acme")
	require.NoError(t, err)
	b.org = o.ID
	custom := rule.Default(rule.PaymentOther)
	custom.Name, custom.ExpectedCompletionMinutes, custom.SLARiskThresholdPercent = "fast", 10, 50
	custom.DelayedSettlementThresholdMinutes, custom.RequiredLegTypes = 5, []string{rule.LegProvider, rule.LegFile}
	b.rules = []rule.Rule{rule.Default(rule.PaymentStablecoin), rule.Default(rule.PaymentBank), custom}
	for i, r := range b.rules {
		snap, err := json.Marshal(r)
		require.NoError(t, err)
		var id uuid.UUID
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO rule_snapshots (organization_id, digest, snapshot)
			VALUES ($1, sha256($2::bytea), $3::jsonb) RETURNING id`, b.org, []byte(fmt.Sprint(i)), snap).Scan(&id))
		b.snaps = append(b.snaps, id)
	}
	return b
}

// spec is a case as evaluation left it, and how old its payment is.
type spec struct {
	age                       time.Duration
	rule                      int
	status, recon             string
	baseVerdict, baseExc      *string
	verdict, exception        *string
	slaRisk                   bool
	provider, chain, bank, fc string
}

// insert creates the intents and cases of specs in two statements and
// returns the case ids in order.
func (b *bundle) insert(t *testing.T, specs []spec) []uuid.UUID {
	t.Helper()
	n := len(specs)
	refs, created, snaps := make([]string, n), make([]time.Time, n), make([]uuid.UUID, n)
	statuses, recons, bv, be, v, e := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	risks := make([]bool, n)
	prov, chain, bank, file := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for i, s := range specs {
		refs[i], created[i], snaps[i] = fmt.Sprintf("sla-%d", i), b.now.Add(-s.age), b.snaps[s.rule]
		statuses[i], recons[i], bv[i], be[i], v[i], e[i] = s.status, s.recon, str(s.baseVerdict), str(s.baseExc), str(s.verdict), str(s.exception)
		risks[i], prov[i], chain[i], bank[i], file[i] = s.slaRisk, s.provider, s.chain, s.bank, s.fc
	}
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `
		INSERT INTO payment_intents (organization_id, external_reference, source_amount, source_currency,
			destination_amount, destination_currency, payment_type, direction, created_at, updated_at)
		SELECT $1, ref, 100, 'USD', 100, 'USDC', 'stablecoin', 'debit', at, at
		FROM unnest($2::text[], $3::timestamptz[]) AS u(ref, at)`, b.org, refs, created)
	require.NoError(t, err)
	rows, err := b.pool.Query(ctx, `
		INSERT INTO reconciliation_cases (organization_id, payment_intent_id, expected_amount, expected_currency,
			required_legs_total, status, reconciliation_status, base_verdict, base_exception_type, verdict, exception_type,
			sla_risk, coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_snapshot_id, created_at)
		SELECT $1, pi.id, 100, 'USDC', 2, u.status, u.recon, nullif(u.bv, ''), nullif(u.be, ''), nullif(u.v, ''),
			nullif(u.e, ''), u.risk, u.prov, u.chain, u.bank, u.file, u.snap,
			pi.created_at -- as in one transaction with its intent
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[],
			$10::text[], $11::text[], $12::text[], $13::text[], $14::uuid[]) WITH ORDINALITY
			AS u(ref, status, recon, bv, be, v, e, risk, prov, chain, bank, file, snap, i)
		JOIN payment_intents pi ON pi.organization_id = $1 AND pi.external_reference = u.ref
		ORDER BY u.i
		RETURNING id`,
		b.org, refs, statuses, recons, bv, be, v, e, risks, prov, chain, bank, file, snaps)
	require.NoError(t, err)
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, ids, n)
	return ids
}

func (b *bundle) get(t *testing.T, id uuid.UUID) db.ReconciliationCase {
	t.Helper()
	c, err := b.q.GetCase(context.Background(), db.GetCaseParams{OrganizationID: b.org, ID: id})
	require.NoError(t, err)
	return c.ReconciliationCase
}

func (b *bundle) sweep(t *testing.T, s *Scorer) Result {
	t.Helper()
	res, err := s.Sweep(context.Background())
	require.NoError(t, err)
	return res
}

func sp(s string) *string { return &s }

// The scoring query and recon.ApplySLA are two writings of one judgement:
// every combination of case status, reconciliation status, evaluation
// outcome, coverage, rule and age, starting from a fresh evaluation or from a
// stale SLA outcome, ends where ApplySLA says, and a second sweep at the same
// instant changes nothing.
func TestScoreMatchesApplySLA(t *testing.T) {
	t.Parallel()
	b := setup(t)
	type base struct{ verdict, exc *string }
	bases := []base{{nil, nil}, {sp("unreconciled"), sp("missing_leg")}, {sp("needs_review"), sp("amount_mismatch")},
		{sp("matched"), nil}, {sp("unreconciled"), sp("conflicting_status")}}
	type cov struct{ provider, chain, bank, file string }
	covs := []cov{
		{"missing", "missing", "not_required", "not_required"},
		{"present", "missing", "not_required", "not_required"},
		{"present", "pending", "not_required", "not_required"},
		{"present", "present", "pending", "not_required"},
		{"present", "present", "present", "missing"},
		{"pending", "present", "present", "present"},
	}
	ages := []time.Duration{0, 4 * time.Minute, 5 * time.Minute, 29 * time.Minute, 30*time.Minute - time.Second,
		30 * time.Minute, 47 * time.Minute, 48 * time.Minute, 59 * time.Minute, 2 * time.Hour, 48 * time.Hour, 57*time.Hour + 36*time.Minute, 4 * 24 * time.Hour}
	var specs []spec
	for _, status := range []string{"open", "resolved", "archived"} {
		for _, rs := range []string{"unreconciled", "tentatively_reconciled", "reconciled"} {
			for _, bs := range bases {
				for _, c := range covs {
					for _, age := range ages {
						for r := range b.rules {
							for _, stale := range []bool{false, true} {
								s := spec{age: age, rule: r, status: status, recon: rs, baseVerdict: bs.verdict, baseExc: bs.exc,
									verdict: bs.verdict, exception: bs.exc,
									provider: c.provider, chain: c.chain, bank: c.bank, fc: c.file}
								if stale { // a previous sweep's outcome, right or wrong now
									s.verdict, s.exception, s.slaRisk = sp("sla_risk"), sp("timing_delay"), true
								}
								specs = append(specs, s)
							}
						}
					}
				}
			}
		}
	}
	ids := b.insert(t, specs)

	want := make([]recon.SLAOutcome, len(specs))
	visited, changed := 0, 0
	for i, s := range specs {
		want[i] = recon.ApplySLA(recon.SLAInput{
			Verdict: s.baseVerdict, ExceptionType: s.baseExc, ReconciliationStatus: s.recon, Open: s.status == "open",
			Coverage: recon.Coverage{Provider: s.provider, Chain: s.chain, Bank: s.bank, File: s.fc},
			Rule:     b.rules[s.rule], Age: s.age,
		})
		if s.status == "open" || s.slaRisk || (s.verdict != nil && (*s.verdict == "sla_risk" || *s.verdict == "delayed")) {
			visited++
		}
		if deref(want[i].Verdict) != deref(s.verdict) || deref(want[i].ExceptionType) != deref(s.exception) || want[i].SLARisk != s.slaRisk {
			changed++
		}
	}
	// Small chunks, so that a sweep crosses many of them.
	scorer := New(b.pool).WithClock(func() time.Time { return b.now }).WithChunk(997)
	res := b.sweep(t, scorer)
	require.Equal(t, visited, res.Visited)
	require.Equal(t, changed, res.Changed)
	require.Positive(t, res.AtRisk)
	require.Positive(t, res.Delayed)

	for i, id := range ids {
		c := b.get(t, id)
		s := specs[i]
		msg := fmt.Sprintf("case %d: %+v (age %v, rule %s)", i, s, s.age, b.rules[s.rule].Name)
		require.Equal(t, deref(want[i].Verdict), deref(c.Verdict), msg)
		require.Equal(t, deref(want[i].ExceptionType), deref(c.ExceptionType), msg)
		require.Equal(t, want[i].SLARisk, c.SlaRisk, msg)
		require.Equal(t, deref(s.baseVerdict), deref(c.BaseVerdict), "the evaluation's own outcome is kept")
	}

	var audits, announced int
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE event_type = 'case.sla_scored'`).Scan(&audits))
	require.Equal(t, changed, audits, "one audit event per case written")
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(DISTINCT case_id) FROM event_outbox WHERE event_type = 'reconciliation_case.updated'`).Scan(&announced))
	require.Equal(t, changed, announced, "every case written is announced")

	res = b.sweep(t, scorer)
	require.Equal(t, Result{Visited: res.Visited}, res, "the same instant again changes nothing")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// A case the matcher holds locked is skipped, not waited for (the matcher
// applies the same judgement when it writes); the next sweep scores it.
func TestSweepLeavesLockedCasesToTheMatcher(t *testing.T) {
	t.Parallel()
	b := setup(t)
	late := spec{age: time.Hour, status: "open", recon: "unreconciled", provider: "missing", chain: "missing",
		bank: "not_required", fc: "not_required"}
	ids := b.insert(t, []spec{late, late})
	scorer := New(b.pool).WithClock(func() time.Time { return b.now })

	ctx := context.Background()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT 1 FROM reconciliation_cases WHERE id = $1 FOR UPDATE`, ids[0])
	require.NoError(t, err)
	done := make(chan Result, 1)
	go func() {
		res, err := scorer.Sweep(ctx)
		if err != nil {
			panic(err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		require.Equal(t, Result{Visited: 2, Changed: 1, AtRisk: 1, Delayed: 1}, res)
	case <-time.After(30 * time.Second):
		t.Fatal("the sweep waited for the locked case")
	}
	require.False(t, b.get(t, ids[0]).SlaRisk)
	require.True(t, b.get(t, ids[1]).SlaRisk)
	require.NoError(t, tx.Rollback(ctx))

	require.Equal(t, Result{Visited: 2, Changed: 1, AtRisk: 1, Delayed: 1}, b.sweep(t, scorer))
	require.True(t, b.get(t, ids[0]).SlaRisk)
}

// A late case resolved by hand is no longer late: the next sweep clears its
// flag and gives it back the evaluation's verdict.
func TestSweepClearsCasesResolvedByHand(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := b.insert(t, []spec{{age: time.Hour, status: "open", recon: "unreconciled",
		baseVerdict: sp("unreconciled"), baseExc: sp("missing_leg"), verdict: sp("unreconciled"), exception: sp("missing_leg"),
		provider: "present", chain: "missing", bank: "not_required", fc: "not_required"}})
	scorer := New(b.pool).WithClock(func() time.Time { return b.now })
	require.Equal(t, Result{Visited: 1, Changed: 1, AtRisk: 1, Delayed: 1}, b.sweep(t, scorer))
	c := b.get(t, ids[0])
	require.Equal(t, "sla_risk", *c.Verdict)
	require.Equal(t, "timing_delay", *c.ExceptionType)

	_, err := cases.New(b.pool, nil).Resolve(context.Background(),
		cases.Action{OrganizationID: b.org, CaseID: ids[0], Actor: "user:ops"}, nil, nil)
	require.NoError(t, err)
	require.Equal(t, Result{Visited: 1, Changed: 1}, b.sweep(t, scorer))
	c = b.get(t, ids[0])
	require.Equal(t, "resolved", c.Status)
	require.False(t, c.SlaRisk)
	require.Equal(t, "unreconciled", *c.Verdict)
	require.Equal(t, "missing_leg", *c.ExceptionType)
	var msg string
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT message FROM audit_events
		WHERE case_id = $1 AND event_type = 'case.sla_scored' ORDER BY occurred_at DESC, id DESC LIMIT 1`, ids[0]).Scan(&msg))
	require.Equal(t, "Case no longer scored for SLA: it is resolved.", msg)

	require.Equal(t, Result{}, b.sweep(t, scorer), "nothing left to visit")
}
