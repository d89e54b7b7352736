package match

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/rule"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func cand(strategy string, r rule.Rule, amount string) Candidate {
	return Candidate{Strategy: strategy, CaseID: uuid.New(), Rule: r, ExpectedAmount: dec(amount),
		ExpectedCurrency: "USD", IntentCreatedAt: t0, ExternalReference: "order_" + strategy}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	def := rule.Default(rule.PaymentOther)
	noExplicit := def
	noExplicit.AllowExplicitIDMatch = false
	tolerant := def
	tolerant.AmountTolerance = dec("1")
	leg := Leg{Amount: dec("100"), Currency: "USD", OccurredAt: t0.Add(10 * time.Minute)}

	explicit := cand(ExplicitID, def, "100")
	provider := cand(ProviderID, def, "100")
	t.Run("the strongest strategy wins", func(t *testing.T) {
		d := Decide(leg, []Candidate{provider, explicit})
		require.Equal(t, Matched, d.Kind)
		require.Equal(t, explicit.CaseID, d.Links[0].CaseID)
		require.Equal(t, ExplicitID, d.Links[0].Strategy)
		require.Equal(t, "1", d.Links[0].Score.String())
	})
	t.Run("a strategy the case's rule disables is skipped", func(t *testing.T) {
		off := cand(ExplicitID, noExplicit, "100")
		d := Decide(leg, []Candidate{off, provider})
		require.Equal(t, Matched, d.Kind)
		require.Equal(t, provider.CaseID, d.Links[0].CaseID)
	})
	t.Run("one case found twice by a strategy is one candidate", func(t *testing.T) {
		again := explicit
		d := Decide(leg, []Candidate{explicit, again})
		require.Equal(t, Matched, d.Kind)
	})
	t.Run("two cases by one strategy are ambiguous, never a guess", func(t *testing.T) {
		a, b := cand(AmountTimeWindow, def, "100"), cand(AmountTimeWindow, def, "100")
		d := Decide(leg, []Candidate{a, b})
		require.Equal(t, Ambiguous, d.Kind)
		require.Len(t, d.Links, 2)
		require.Less(t, d.Links[0].CaseID.String(), d.Links[1].CaseID.String(), "sorted: the lock order")
		require.Contains(t, d.Links[0].Reason, "2 cases qualify")
	})
	t.Run("amount outside tolerance or window does not qualify", func(t *testing.T) {
		off := cand(AmountTimeWindow, def, "100.01")
		require.Equal(t, Unmatched, Decide(leg, []Candidate{off}).Kind)
		within := cand(AmountTimeWindow, tolerant, "100.90")
		d := Decide(leg, []Candidate{within})
		require.Equal(t, Matched, d.Kind)
		require.Equal(t, "0.6", d.Links[0].Score.String(), "within tolerance scores below exact")
		late := Leg{Amount: dec("100"), Currency: "USD", OccurredAt: t0.Add(25 * time.Hour)}
		require.Equal(t, Unmatched, Decide(late, []Candidate{cand(AmountTimeWindow, def, "100")}).Kind)
	})
	t.Run("a provider's destination amount counts in its currency", func(t *testing.T) {
		usdc := "USDC"
		fx := Leg{Amount: dec("100"), Currency: "EUR", DestinationAmount: ptr(dec("100")), DestinationCurrency: &usdc, OccurredAt: t0}
		c := cand(AmountTimeWindow, def, "100")
		c.ExpectedCurrency = "USDC"
		require.Equal(t, Matched, Decide(fx, []Candidate{c}).Kind)
		c.ExpectedCurrency = "GBP"
		require.Equal(t, Unmatched, Decide(fx, []Candidate{c}).Kind)
	})
	t.Run("bps tolerance", func(t *testing.T) {
		bps := def
		bps.AmountToleranceBps = 50 // 0.5 % of 100 = 0.5
		require.Equal(t, Matched, Decide(leg, []Candidate{cand(AmountTimeWindow, bps, "100.5")}).Kind)
		require.Equal(t, Unmatched, Decide(leg, []Candidate{cand(AmountTimeWindow, bps, "100.6")}).Kind)
	})
	t.Run("nothing found", func(t *testing.T) {
		require.Equal(t, Decision{Kind: Unmatched}, Decide(leg, nil))
	})
}

func ptr[T any](v T) *T { return &v }

func BenchmarkDecide(b *testing.B) {
	def := rule.Default(rule.PaymentStablecoin)
	leg := Leg{Amount: dec("916.00"), Currency: "USDC", OccurredAt: t0}
	// What FindCandidates typically returns: a tx-hash hit and a handful of
	// same-amount open cases in the window.
	cands := []Candidate{cand(TxHash, def, "916.00")}
	for range 10 {
		c := cand(AmountTimeWindow, def, "916.00")
		c.ExpectedCurrency = "USDC"
		cands = append(cands, c)
	}
	b.ReportAllocs()
	for b.Loop() {
		if Decide(leg, cands).Kind != Matched {
			b.Fatal("no match")
		}
	}
}

func TestEvidenceNamingAnIntentIsNotPlacedByAmount(t *testing.T) {
	t.Parallel()
	def := rule.Default(rule.PaymentOther)
	leg := Leg{Amount: dec("100"), Currency: "USD", OccurredAt: t0, NamesIntent: true}
	require.Equal(t, Unmatched, Decide(leg, []Candidate{cand(AmountTimeWindow, def, "100")}).Kind,
		"the named intent may not exist yet: wait for it")
	require.Equal(t, Matched, Decide(leg, []Candidate{cand(ProviderID, def, "100")}).Kind, "strong keys still apply")
}
