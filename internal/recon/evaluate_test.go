package recon

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/rule"
)

var evalT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func decp(s string) *decimal.Decimal { return ptr(dec(s)) }

// legID gives leg n a recognizable id.
func legID(n int) uuid.UUID { return uuid.UUID{14: byte(n >> 8), 15: byte(n)} }

type legOpt func(*EvidenceLeg)

// evLeg is leg n: its own transfer (identity) reported n minutes after t0.
func evLeg(n int, typ, status, amount, currency string, opts ...legOpt) EvidenceLeg {
	l := EvidenceLeg{
		ID: legID(n), Type: typ, Status: status,
		Identity: fmt.Sprintf("%s-%d", typ, n),
		Amount:   dec(amount), Currency: currency,
		OccurredAt: evalT0.Add(time.Duration(n) * time.Minute),
	}
	for _, o := range opts {
		o(&l)
	}
	return l
}

func identity(s string) legOpt { return func(l *EvidenceLeg) { l.Identity = s } }

func at(minutes int) legOpt {
	return func(l *EvidenceLeg) { l.OccurredAt = evalT0.Add(time.Duration(minutes) * time.Minute) }
}

func destAmount(amount, currency string) legOpt {
	return func(l *EvidenceLeg) { l.DestinationAmount, l.DestinationCurrency = decp(amount), ptr(currency) }
}

func fxRate(r string) legOpt { return func(l *EvidenceLeg) { l.FxRate = decp(r) } }

// fees sets the reported fees; "" leaves one unreported.
func fees(provider, network, developer string) legOpt {
	opt := func(s string) *decimal.Decimal {
		if s == "" {
			return nil
		}
		return decp(s)
	}
	return func(l *EvidenceLeg) {
		l.ProviderFee, l.NetworkFee, l.DeveloperFee = opt(provider), opt(network), opt(developer)
	}
}

func tolerant(r rule.Rule, abs string, bps int32) rule.Rule {
	r.AmountTolerance, r.AmountToleranceBps = dec(abs), bps
	return r
}

func sameCurrency(amount, currency string) Intent {
	return Intent{
		SourceAmount: dec(amount), SourceCurrency: currency,
		DestinationAmount: dec(amount), DestinationCurrency: currency,
	}
}

// usdToUSDC is a stablecoin payout quoted at 0.92: 1000 USD → 920 USDC.
var usdToUSDC = Intent{
	SourceAmount: dec("1000"), SourceCurrency: "USD",
	DestinationAmount: dec("920"), DestinationCurrency: "USDC",
	ExpectedFxRate: decp("0.92"),
}

// The provider converted at 0.918 (918 USDC, 2 less than quoted) and took
// 1 + 0.50 network + 0.50 developer: 916 USDC arrive on chain, every cent
// explained.
func stablecoinLegs(chainStatus string) []EvidenceLeg {
	return []EvidenceLeg{
		evLeg(1, rule.LegProvider, LegSettled, "1000", "USD",
			destAmount("916.00", "USDC"), fxRate("0.918"), fees("1.00", "0.50", "0.50")),
		// The chain's gas is the same 0.50 the provider passed on.
		evLeg(2, rule.LegOnchain, chainStatus, "916.00", "USDC", fees("", "0.50", "")),
	}
}

// amts are expected amounts as decimal strings; "nil" expects nil.
type amts struct {
	actual, provider, network, developer, fx, rounding, unexplained string
}

var noAmounts = amts{"nil", "nil", "nil", "nil", "nil", "nil", "nil"}

// exact is a case whose actual amount leaves nothing to explain.
func exact(actual string) amts { return amts{actual, "0", "0", "0", "0", "0", "0"} }

var stablecoinAmounts = amts{"916", "1", "0.5", "0.5", "2", "0", "0"}

func requireAmount(t *testing.T, field, want string, got *decimal.Decimal) {
	t.Helper()
	if want == "nil" {
		require.Nil(t, got, field)
		return
	}
	require.NotNil(t, got, field)
	require.Equal(t, want, got.String(), field)
}

func requireOptString(t *testing.T, field, want string, got *string) {
	t.Helper()
	if want == "" {
		require.Nil(t, got, field)
		return
	}
	require.NotNil(t, got, field)
	require.Equal(t, want, *got, field)
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	other := rule.Default(rule.PaymentOther)             // provider
	stable := rule.Default(rule.PaymentStablecoin)       // provider + onchain
	crossBorder := rule.Default(rule.PaymentCrossBorder) // provider + bank
	stableCovering := tolerant(stable, "2", 0)           // covers 2 of fees and 2 of spread
	anyOfStable := stableCovering
	anyOfStable.RequireAllRequiredLegs = false
	noRequired := other
	noRequired.RequiredLegTypes = nil

	for _, tc := range []struct {
		name      string
		intent    Intent
		rule      rule.Rule
		legs      []EvidenceLeg
		ambiguous int
		// verdict and exception "" mean nil.
		verdict, status, exception string
		amounts                    amts
		// current lists leg numbers; nil means every leg is current.
		current []int
	}{
		{
			name: "no evidence yet", intent: sameCurrency("100", "USD"), rule: other,
			status: StatusUnreconciled, amounts: noAmounts,
		},
		{
			name: "no evidence but an ambiguous candidate", intent: sameCurrency("100", "USD"), rule: other,
			ambiguous: 1,
			verdict:   VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmbiguousMatch,
			amounts: noAmounts,
		},
		{
			name: "quickstart: provider settled the full amount", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "100", "USD")},
			verdict: VerdictMatched, status: StatusReconciled, amounts: exact("100"),
		},
		{
			name: "ambiguous candidate next to a clean match", intent: sameCurrency("100", "USD"), rule: other,
			legs: []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "100", "USD")}, ambiguous: 2,
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmbiguousMatch,
			amounts: exact("100"),
		},
		{
			name: "provider short by 10 is an amount mismatch", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "90", "USD")},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmountMismatch,
			amounts: amts{"90", "0", "0", "0", "0", "0", "10"},
		},
		{
			name: "absolute tolerance lets a small delta through", intent: sameCurrency("100", "USD"),
			rule:    tolerant(other, "0.50", 0),
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.60", "USD")},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"99.6", "0", "0", "0", "0", "0", "0.4"},
		},
		{
			name: "bps tolerance lets a small delta through", intent: sameCurrency("100", "USD"),
			rule:    tolerant(other, "0", 50), // 0.50 on 100
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.70", "USD")},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"99.7", "0", "0", "0", "0", "0", "0.3"},
		},
		{
			name: "delta beyond the larger of absolute and bps tolerance", intent: sameCurrency("100", "USD"),
			rule:    tolerant(other, "0.20", 10), // max(0.20, 0.10)
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.70", "USD")},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmountMismatch,
			amounts: amts{"99.7", "0", "0", "0", "0", "0", "0.3"},
		},
		{
			name: "stablecoin payout explained but beyond zero tolerance", intent: usdToUSDC, rule: stable,
			legs:    stablecoinLegs(LegSettled),
			verdict: VerdictMatchedWithException, status: StatusReconciled, exception: ExceptionFeeOutOfTolerance,
			amounts: stablecoinAmounts,
		},
		{
			name: "stablecoin payout within a tolerance covering fees and spread", intent: usdToUSDC,
			rule: stableCovering, legs: stablecoinLegs(LegSettled),
			verdict: VerdictMatched, status: StatusReconciled, amounts: stablecoinAmounts,
		},
		{
			name: "fx variance: fees within tolerance, spread beyond", intent: usdToUSDC, rule: stableCovering,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "1000", "USD",
					destAmount("913.50", "USDC"), fxRate("0.915"), fees("1.00", "0.50", "")),
				evLeg(2, rule.LegOnchain, LegSettled, "913.50", "USDC"),
			},
			verdict: VerdictMatchedWithException, status: StatusReconciled, exception: ExceptionFXVariance,
			amounts: amts{"913.5", "1", "0.5", "0", "5", "0", "0"},
		},
		{
			name: "bank amount beats the provider's destination amount", intent: Intent{
				SourceAmount: dec("1000"), SourceCurrency: "USD",
				DestinationAmount: dec("920"), DestinationCurrency: "EUR", ExpectedFxRate: decp("0.92"),
			},
			rule: crossBorder,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "1000", "USD", destAmount("918.40", "EUR"), fxRate("0.918")),
				evLeg(2, rule.LegBank, LegSettled, "918.00", "EUR"),
			},
			verdict: VerdictMatchedWithException, status: StatusReconciled, exception: ExceptionFXVariance,
			amounts: amts{"918", "0", "0", "0", "2", "0", "0"},
		},
		{
			name: "pending onchain leg is tentatively reconciled", intent: usdToUSDC, rule: stableCovering,
			legs:    stablecoinLegs(LegPending),
			verdict: VerdictMatched, status: StatusTentativelyReconciled, amounts: stablecoinAmounts,
		},
		{
			name: "missing required onchain leg", intent: usdToUSDC, rule: stableCovering,
			legs:    stablecoinLegs(LegSettled)[:1],
			verdict: VerdictUnreconciled, status: StatusUnreconciled, exception: ExceptionMissingLeg,
			amounts: stablecoinAmounts,
		},
		{
			name: "one of two required legs is enough when not all are required", intent: usdToUSDC,
			rule: anyOfStable, legs: stablecoinLegs(LegSettled)[:1],
			verdict: VerdictMatched, status: StatusReconciled, amounts: stablecoinAmounts,
		},
		{
			name: "a rule without required legs is complete with any live leg", intent: sameCurrency("100", "USD"),
			rule:    noRequired,
			legs:    []EvidenceLeg{evLeg(1, rule.LegBank, LegSettled, "100", "USD")},
			verdict: VerdictMatched, status: StatusReconciled, amounts: exact("100"),
		},
		{
			name: "only a failed provider leg", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegFailed, "100", "USD")},
			verdict: VerdictUnreconciled, status: StatusUnreconciled,
			amounts: amts{"nil", "0", "0", "0", "0", "nil", "nil"},
		},
		{
			name: "a reversal supersedes the settled report", intent: sameCurrency("100", "USD"), rule: other,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", identity("pt_1")),
				evLeg(2, rule.LegProvider, LegReversed, "100", "USD", identity("pt_1")),
			},
			verdict: VerdictUnreconciled, status: StatusUnreconciled,
			amounts: amts{"nil", "0", "0", "0", "0", "nil", "nil"},
			current: []int{2},
		},
		{
			name: "settled provider and failed onchain conflict", intent: usdToUSDC, rule: stableCovering,
			legs:    stablecoinLegs(LegFailed),
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionConflictingStatus,
			// The failed chain leg is not live: the provider's destination
			// amount is the actual one.
			amounts: stablecoinAmounts,
		},
		{
			name: "two provider transfers are duplicate evidence", intent: sameCurrency("100", "USD"), rule: other,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", identity("pt_1")),
				evLeg(2, rule.LegProvider, LegSettled, "100", "USD", identity("pt_2")),
			},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionDuplicateEvidence,
			amounts: exact("100"),
		},
		{
			name: "legs without identity are never merged", intent: sameCurrency("100", "USD"), rule: other,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegPending, "100", "USD", identity("")),
				evLeg(2, rule.LegProvider, LegSettled, "100", "USD", identity("")),
			},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionDuplicateEvidence,
			amounts: exact("100"),
		},
		{
			name: "duplicates outrank conflicting statuses", intent: usdToUSDC, rule: stableCovering,
			legs: append(stablecoinLegs(LegFailed),
				evLeg(3, rule.LegProvider, LegSettled, "1000", "USD", destAmount("916.00", "USDC"))),
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionDuplicateEvidence,
			amounts: amts{"916", "1", "0.5", "0.5", "2", "0", "0"},
		},
		{
			name: "successive reports of one transfer are not duplicates", intent: sameCurrency("100", "USD"),
			rule: other,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegPending, "100", "USD", identity("pt_1")),
				evLeg(2, rule.LegProvider, LegSettled, "100", "USD", identity("pt_1")),
			},
			verdict: VerdictMatched, status: StatusReconciled, amounts: exact("100"),
			current: []int{2},
		},
		{
			name: "the latest report wins whatever the input order", intent: sameCurrency("100", "USD"),
			rule: other,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", identity("pt_1"), at(10)),
				evLeg(2, rule.LegProvider, LegPending, "100", "USD", identity("pt_1"), at(5)),
			},
			verdict: VerdictMatched, status: StatusReconciled, amounts: exact("100"),
			current: []int{1},
		},
		{
			name: "on equal times the later leg in the input wins", intent: sameCurrency("100", "USD"),
			rule: other,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", identity("pt_1"), at(5)),
				evLeg(2, rule.LegProvider, LegPending, "100", "USD", identity("pt_1"), at(5)),
			},
			verdict: VerdictMatched, status: StatusTentativelyReconciled, amounts: exact("100"),
			current: []int{2},
		},
		{
			name: "the same identity in two leg types is two transfers", intent: usdToUSDC, rule: stableCovering,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "1000", "USD",
					identity("x"), destAmount("916.00", "USDC"), fxRate("0.918"), fees("1.00", "0.50", "0.50")),
				evLeg(2, rule.LegOnchain, LegSettled, "916.00", "USDC", identity("x")),
			},
			verdict: VerdictMatched, status: StatusReconciled, amounts: stablecoinAmounts,
		},
		{
			name: "onchain leg in USDT for a USDC intent", intent: usdToUSDC, rule: stableCovering,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "1000", "USD",
					destAmount("916.00", "USDC"), fxRate("0.918"), fees("1.00", "0.50", "0.50")),
				evLeg(2, rule.LegOnchain, LegSettled, "916.00", "USDT"),
			},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionCurrencyMismatch,
			amounts: stablecoinAmounts,
		},
		{
			name: "provider-only leg in GBP", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "80", "GBP")},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionCurrencyMismatch,
			amounts: amts{"nil", "0", "0", "0", "0", "nil", "nil"},
		},
		{
			name: "residual below the cent is rounding", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.996", "USD")},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"99.996", "0", "0", "0", "0", "0.004", "0"},
		},
		{
			name: "negative residual below the cent is rounding", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "100.004", "USD")},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"100.004", "0", "0", "0", "0", "-0.004", "0"},
		},
		{
			name: "residual of one cent is unexplained", intent: sameCurrency("100", "USD"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.99", "USD")},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmountMismatch,
			amounts: amts{"99.99", "0", "0", "0", "0", "0", "0.01"},
		},
		{
			name: "USDC residual below token precision is rounding",
			intent: Intent{
				SourceAmount: dec("100"), SourceCurrency: "USD",
				DestinationAmount: dec("100"), DestinationCurrency: "USDC",
			},
			rule: stable,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", destAmount("99.9999999", "USDC")),
				evLeg(2, rule.LegOnchain, LegSettled, "99.9999999", "USDC"),
			},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"99.9999999", "0", "0", "0", "0", "0.0000001", "0"},
		},
		{
			name: "USDC residual of one token unit is unexplained",
			intent: Intent{
				SourceAmount: dec("100"), SourceCurrency: "USD",
				DestinationAmount: dec("100"), DestinationCurrency: "USDC",
			},
			rule: stable,
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", destAmount("99.999999", "USDC")),
				evLeg(2, rule.LegOnchain, LegSettled, "99.999999", "USDC"),
			},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmountMismatch,
			amounts: amts{"99.999999", "0", "0", "0", "0", "0", "0.000001"},
		},
		{
			name: "an unknown currency has no rounding", intent: sameCurrency("100", "XYZ"), rule: other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.996", "XYZ")},
			verdict: VerdictNeedsReview, status: StatusUnreconciled, exception: ExceptionAmountMismatch,
			amounts: amts{"99.996", "0", "0", "0", "0", "0", "0.004"},
		},
		{
			name: "developerFeeExpected stands in for an unreported developer fee",
			intent: func() Intent {
				it := sameCurrency("100", "USD")
				it.DeveloperFeeExpected = decp("0.50")
				return it
			}(),
			rule:    other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.50", "USD")},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"99.5", "0", "0", "0.5", "0", "0", "0"},
		},
		{
			name: "developer fee above expected is an unexpected fee",
			intent: func() Intent {
				it := sameCurrency("100", "USD")
				it.DeveloperFeeExpected = decp("0.50")
				return it
			}(),
			rule:    other,
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.20", "USD", fees("", "", "0.80"))},
			verdict: VerdictMatchedWithException, status: StatusReconciled, exception: ExceptionFeeOutOfTolerance,
			amounts: amts{"99.2", "0", "0", "0.8", "0", "0", "0"},
		},
		{
			name: "developer fee overage within tolerance",
			intent: func() Intent {
				it := sameCurrency("100", "USD")
				it.DeveloperFeeExpected = decp("0.50")
				return it
			}(),
			rule:    tolerant(other, "0.30", 0),
			legs:    []EvidenceLeg{evLeg(1, rule.LegProvider, LegSettled, "99.20", "USD", fees("", "", "0.80"))},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"99.2", "0", "0", "0.8", "0", "0", "0"},
		},
		{
			name: "network fee from the chain when the provider reports none",
			intent: Intent{
				SourceAmount: dec("100"), SourceCurrency: "USD",
				DestinationAmount: dec("100"), DestinationCurrency: "USDC",
			},
			rule: tolerant(stable, "1.50", 0),
			legs: []EvidenceLeg{
				evLeg(1, rule.LegProvider, LegSettled, "100", "USD", destAmount("98.50", "USDC"), fees("1.00", "", "")),
				evLeg(2, rule.LegOnchain, LegSettled, "98.50", "USDC", fees("", "0.50", "")),
			},
			verdict: VerdictMatched, status: StatusReconciled,
			amounts: amts{"98.5", "1", "0.5", "0", "0", "0", "0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := Evaluate(Input{Intent: tc.intent, Rule: tc.rule, Legs: tc.legs, Ambiguous: tc.ambiguous})

			requireOptString(t, "verdict", tc.verdict, out.Verdict)
			require.Equal(t, tc.status, out.ReconciliationStatus)
			requireOptString(t, "exceptionType", tc.exception, out.ExceptionType)

			require.True(t, tc.intent.DestinationAmount.Equal(out.ExpectedAmount), "expectedAmount")
			requireAmount(t, "actualAmount", tc.amounts.actual, out.ActualAmount)
			requireAmount(t, "providerFee", tc.amounts.provider, out.ProviderFee)
			requireAmount(t, "networkFee", tc.amounts.network, out.NetworkFee)
			requireAmount(t, "developerFee", tc.amounts.developer, out.DeveloperFee)
			requireAmount(t, "fxSpread", tc.amounts.fx, out.FxSpread)
			requireAmount(t, "roundingDelta", tc.amounts.rounding, out.RoundingDelta)
			requireAmount(t, "unexplainedDelta", tc.amounts.unexplained, out.UnexplainedDelta)

			var want []uuid.UUID
			if tc.current == nil {
				for _, l := range tc.legs {
					want = append(want, l.ID)
				}
			} else {
				for _, n := range tc.current {
					want = append(want, legID(n))
				}
			}
			require.Equal(t, want, out.Current)
		})
	}
}

func TestEvaluateCoverageCountsCurrentLegs(t *testing.T) {
	t.Parallel()
	stable := rule.Default(rule.PaymentStablecoin)
	provider := evLeg(1, rule.LegProvider, LegSettled, "1000", "USD", destAmount("916", "USDC"))
	for _, tc := range []struct {
		name           string
		legs           []EvidenceLeg
		want           Coverage
		total, present int
	}{
		{"no evidence", nil,
			Coverage{"present", "missing", "missing", "not_required", "not_required"}, 2, 0},
		{"chain confirmed after pending", []EvidenceLeg{provider,
			evLeg(2, rule.LegOnchain, LegPending, "916", "USDC", identity("0xabc")),
			evLeg(3, rule.LegOnchain, LegSettled, "916", "USDC", identity("0xabc"))},
			Coverage{"present", "present", "present", "not_required", "not_required"}, 2, 2},
		{"chain reversed after settling", []EvidenceLeg{provider,
			evLeg(2, rule.LegOnchain, LegSettled, "916", "USDC", identity("0xabc")),
			evLeg(3, rule.LegOnchain, LegReversed, "916", "USDC", identity("0xabc"))},
			Coverage{"present", "present", "failed", "not_required", "not_required"}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := Evaluate(Input{Intent: usdToUSDC, Rule: stable, Legs: tc.legs})
			require.Equal(t, tc.want, out.Coverage)
			require.Equal(t, tc.total, out.RequiredLegsTotal)
			require.Equal(t, tc.present, out.RequiredLegsPresent)
		})
	}
}

func TestEvaluateDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	legs := stablecoinLegs(LegSettled)
	before := fmt.Sprintf("%+v", legs)
	Evaluate(Input{Intent: usdToUSDC, Rule: rule.Default(rule.PaymentStablecoin), Legs: legs})
	require.Equal(t, before, fmt.Sprintf("%+v", legs))
}

func BenchmarkEvaluate(b *testing.B) {
	covering := tolerant(rule.Default(rule.PaymentStablecoin), "2", 0)

	// A typical stablecoin payout: the provider reported pending, then
	// completed; the chain confirmed the transfer.
	typical := Input{Intent: usdToUSDC, Rule: covering, Legs: []EvidenceLeg{
		evLeg(1, rule.LegProvider, LegPending, "1000", "USD", identity("pt_1"),
			destAmount("916.00", "USDC"), fxRate("0.918")),
		evLeg(2, rule.LegProvider, LegSettled, "1000", "USD", identity("pt_1"),
			destAmount("916.00", "USDC"), fxRate("0.918"), fees("1.00", "0.50", "0.50")),
		evLeg(3, rule.LegOnchain, LegSettled, "916.00", "USDC", identity("0xabc"), fees("", "0.50", "")),
	}}

	// A noisy one: ten reports each from the provider and the chain
	// (webhook retries, confirmation counts), the last of each settled.
	noisy := Input{Intent: usdToUSDC, Rule: covering}
	for i := range 10 {
		status := LegPending
		if i == 9 {
			status = LegSettled
		}
		noisy.Legs = append(noisy.Legs,
			evLeg(2*i+1, rule.LegProvider, status, "1000", "USD", identity("pt_1"),
				destAmount("916.00", "USDC"), fxRate("0.918"), fees("1.00", "0.50", "0.50")),
			evLeg(2*i+2, rule.LegOnchain, status, "916.00", "USDC", identity("0xabc"), fees("", "0.50", "")))
	}

	for _, bc := range []struct {
		name string
		in   Input
	}{{"stablecoin_3_legs", typical}, {"20_legs", noisy}} {
		out := Evaluate(bc.in)
		require.Equal(b, VerdictMatched, *out.Verdict)
		require.Equal(b, StatusReconciled, out.ReconciliationStatus)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Evaluate(bc.in)
			}
		})
	}
}
