package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/sla"
)

// A stablecoin payout walked through time with a moved clock (the default
// rule: provider and on-chain legs, completion expected within 60 minutes, at
// risk from 48, a leg late after 30): on time, then delayed, then at SLA risk,
// then reconciled — the flag cleared, reconciledAt set, the age frozen. The
// matcher and the scorer read the same test clock.
func TestSLAWalkthroughOnTimeDelayedAtRiskReconciled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	ctx := context.Background()
	const hash = "0x1f1c2b7a9d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccdd1"
	created := b.intent(org, "sla_1", func(in *intent.CreateInput) { h := hash; in.TxHash = &h })
	caseID := created.Case.ID.String()
	t0 := created.Intent.CreatedAt
	require.Equal(t, t0, created.Case.CreatedAt, "the case is created in its intent's transaction")
	var clock time.Time
	at := func(d time.Duration) { clock = t0.Add(d) }
	now := func() time.Time { return clock }
	scorer := sla.New(b.pool).WithClock(now)
	m := matcher.New(b.pool).WithClock(now)
	sweep := func() sla.Result {
		t.Helper()
		res, err := scorer.Sweep(ctx)
		require.NoError(t, err)
		return res
	}
	events := func() []string {
		t.Helper()
		rows, err := b.pool.Query(ctx, `SELECT event_type FROM event_outbox WHERE case_id = $1 ORDER BY sequence, event_type`, created.Case.ID)
		require.NoError(t, err)
		types, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return types
	}

	at(10 * time.Minute)
	require.Equal(t, sla.Result{Visited: 1}, sweep(), "on time: nothing to write")
	c := evCase(t, b, key, caseID)
	require.Nil(t, c.Verdict)
	require.False(t, c.SLARisk)

	at(20 * time.Minute)
	b.evidenceWith(m, org, evidence.SourceProvider, `{"provider":"acme_pay","providerTransferId":"tr_sla_1","status":"completed",
		"amount":{"amount":"100","currency":"USD"},"destinationAmount":{"amount":"100","currency":"USDC"},"externalReference":"sla_1"}`)
	c = evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"open", "unreconciled", "unreconciled", "missing_leg"}, evJudgementOf(c), "on time, chain leg missing")
	require.False(t, c.SLARisk)

	at(35 * time.Minute)
	require.Equal(t, sla.Result{Visited: 1, Changed: 1, Delayed: 1}, sweep())
	c = evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"open", "unreconciled", "delayed", "timing_delay"}, evJudgementOf(c))
	require.False(t, c.SLARisk, "35 minutes is under 80% of 60")
	last := c.AuditEvents[len(c.AuditEvents)-1]
	require.Equal(t, "case.sla_scored", last.EventType)
	require.Equal(t, "system:sla", last.Actor)
	require.Equal(t, "Case delayed: 35 minutes old, a required leg is late.", last.Message)
	require.Contains(t, events(), "reconciliation_case.exception", "timing_delay is announced")

	at(50 * time.Minute)
	require.Equal(t, sla.Result{Visited: 1, Changed: 1, AtRisk: 1, Delayed: 1}, sweep())
	c = evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"open", "unreconciled", "sla_risk", "timing_delay"}, evJudgementOf(c))
	require.True(t, c.SLARisk)
	require.Contains(t, events(), "reconciliation_case.sla_risk")
	before := events()

	// Reads reflect it: the list filters on it and the export carries it.
	rec := b.do(req{method: "GET", path: "/v1/reconciliation-cases?slaRisk=true", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var list struct {
		Items []resource.Case `json:"items"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.Len(t, list.Items, 1)
	require.Equal(t, caseID, list.Items[0].ID)
	rec = b.do(req{method: "GET", path: "/v1/reconciliation-cases?slaRisk=false", token: key})
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.Empty(t, list.Items)
	rec = b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?verdict=sla_risk", token: exportKey(b, org)})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var doc struct {
		Total int `json:"total"`
		Items []struct {
			Case resource.Case `json:"case"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, 1, doc.Total)
	require.True(t, doc.Items[0].Case.SLARisk)

	// The same tick delivered again, or a sweep a minute later, writes
	// nothing and announces nothing.
	require.Equal(t, sla.Result{Visited: 1}, sweep())
	at(51 * time.Minute)
	require.Equal(t, sla.Result{Visited: 1}, sweep())
	require.Equal(t, before, events())

	// Evidence that does not complete the case keeps it late: the matcher
	// applies the same judgement (no flapping back to unreconciled).
	at(52 * time.Minute)
	b.evidenceWith(m, org, evidence.SourceOnchain, `{"chainFamily":"evm","chainId":1,"txHash":"`+hash+`","status":"pending",
		"amount":{"amount":"100","currency":"USDC"},"toAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}`)
	c = evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"open", "tentatively_reconciled", "sla_risk", "timing_delay"}, evJudgementOf(c), "the chain leg is only pending")
	require.Equal(t, "pending", c.EvidenceCoverage.Chain)
	require.True(t, c.SLARisk)

	at(55 * time.Minute)
	b.evidenceWith(m, org, evidence.SourceOnchain, `{"chainFamily":"evm","chainId":1,"txHash":"`+hash+`","status":"confirmed",
		"amount":{"amount":"100","currency":"USDC"},"toAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}`)
	c = evCase(t, b, key, caseID)
	require.Equal(t, evJudgement{"resolved", "reconciled", "matched", "<nil>"}, evJudgementOf(c))
	require.False(t, c.SLARisk, "the flag is cleared")
	require.NotNil(t, c.ReconciledAt)
	require.WithinDuration(t, t0.Add(55*time.Minute), *c.ReconciledAt, time.Millisecond)
	require.EqualValues(t, 55, c.SLAAgeMinutes, "age runs to reconciledAt")

	at(3 * time.Hour)
	require.Equal(t, sla.Result{}, sweep(), "a resolved, unflagged case is not visited")
	c = evCase(t, b, key, caseID)
	require.EqualValues(t, 55, c.SLAAgeMinutes, "the age is frozen")
	require.Equal(t, "matched", *c.Verdict)
}

func exportKey(b *bundle, org uuid.UUID) string {
	key, _ := b.apiKey(org, "exports:read")
	return key
}
