package recon

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/rule"
)

func TestApplySLA(t *testing.T) {
	t.Parallel()
	// Stablecoin default: provider and on-chain legs required, completion
	// expected within 60 minutes, at risk from 80% (48 minutes), a leg late
	// after 30 minutes.
	stable := rule.Default(rule.PaymentStablecoin)
	missingChain := Coverage{Expected: CoveragePresent, Provider: CoveragePresent, Chain: CoverageMissing,
		Bank: CoverageNotRequired, File: CoverageNotRequired}
	pendingChain := missingChain
	pendingChain.Chain = CoveragePending
	complete := missingChain
	complete.Chain = CoveragePresent
	// A leg the rule does not require may be pending without delaying anything.
	pendingBankNotRequired := complete
	pendingBankNotRequired.Bank = CoveragePending
	none := Coverage{Expected: CoveragePresent, Provider: CoverageMissing, Chain: CoverageMissing,
		Bank: CoverageNotRequired, File: CoverageNotRequired}

	s := func(v string) *string { return &v }
	type want struct {
		verdict, exception *string
		risk, delayed      bool
	}
	cases := []struct {
		name string
		in   SLAInput
		want want
	}{
		{"no evidence, on time", SLAInput{Open: true, ReconciliationStatus: StatusUnreconciled, Coverage: none, Age: 29 * time.Minute},
			want{nil, nil, false, false}},
		{"no evidence, past the settlement threshold: delayed",
			SLAInput{Open: true, ReconciliationStatus: StatusUnreconciled, Coverage: none, Age: 30 * time.Minute},
			want{s(VerdictDelayed), s(ExceptionTimingDelay), false, true}},
		{"47 minutes 59 seconds is 47 minutes: not yet at risk",
			SLAInput{Open: true, ReconciliationStatus: StatusUnreconciled, Coverage: none, Age: 48*time.Minute - time.Second},
			want{s(VerdictDelayed), s(ExceptionTimingDelay), false, true}},
		{"48 minutes is 80% of 60: at risk, and still delayed",
			SLAInput{Open: true, ReconciliationStatus: StatusUnreconciled, Coverage: none, Age: 48 * time.Minute},
			want{s(VerdictSLARisk), s(ExceptionTimingDelay), true, true}},
		{"missing leg after evidence: the evaluation's missing_leg becomes timing_delay",
			SLAInput{Verdict: s(VerdictUnreconciled), ExceptionType: s(ExceptionMissingLeg), Open: true,
				ReconciliationStatus: StatusUnreconciled, Coverage: missingChain, Age: 31 * time.Minute},
			want{s(VerdictDelayed), s(ExceptionTimingDelay), false, true}},
		{"pending leg past the threshold, amounts agreeing (tentatively reconciled)",
			SLAInput{Verdict: s(VerdictMatched), Open: true, ReconciliationStatus: StatusTentativelyReconciled,
				Coverage: pendingChain, Age: 40 * time.Minute},
			want{s(VerdictDelayed), s(ExceptionTimingDelay), false, true}},
		{"a pending leg the rule does not require delays nothing",
			SLAInput{Verdict: s(VerdictMatched), Open: true, ReconciliationStatus: StatusTentativelyReconciled,
				Coverage: pendingBankNotRequired, Age: 40 * time.Minute},
			want{s(VerdictMatched), nil, false, false}},
		{"at risk with every leg present but not reconciled: sla_risk keeps the evaluation's exception",
			SLAInput{Verdict: s(VerdictUnreconciled), ExceptionType: s(ExceptionConflictingStatus), Open: true,
				ReconciliationStatus: StatusUnreconciled, Coverage: complete, Age: 59 * time.Minute},
			want{s(VerdictSLARisk), s(ExceptionConflictingStatus), true, false}},
		{"needs_review stays needs_review with its exception; the flags still say it is late",
			SLAInput{Verdict: s(VerdictNeedsReview), ExceptionType: s(ExceptionAmountMismatch), Open: true,
				ReconciliationStatus: StatusUnreconciled, Coverage: missingChain, Age: 2 * time.Hour},
			want{s(VerdictNeedsReview), s(ExceptionAmountMismatch), true, true}},
		{"reconciled: never late, whatever the age",
			SLAInput{Verdict: s(VerdictMatched), Open: true, ReconciliationStatus: StatusReconciled,
				Coverage: complete, Age: 10 * time.Hour},
			want{s(VerdictMatched), nil, false, false}},
		{"resolved or archived by hand: not scored",
			SLAInput{Verdict: s(VerdictUnreconciled), ExceptionType: s(ExceptionMissingLeg), Open: false,
				ReconciliationStatus: StatusUnreconciled, Coverage: missingChain, Age: 10 * time.Hour},
			want{s(VerdictUnreconciled), s(ExceptionMissingLeg), false, false}},
		{"an intent created in the future (clock skew) is not late",
			SLAInput{Open: true, ReconciliationStatus: StatusUnreconciled, Coverage: none, Age: -5 * time.Minute},
			want{nil, nil, false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Rule = stable
			got := ApplySLA(in)
			require.Equal(t, tc.want.verdict, got.Verdict)
			require.Equal(t, tc.want.exception, got.ExceptionType)
			require.Equal(t, tc.want.risk, got.SLARisk)
			require.Equal(t, tc.want.delayed, got.Delayed)
		})
	}

	t.Run("thresholds come from the rule", func(t *testing.T) {
		bank := rule.Default(rule.PaymentBank) // 3 days expected, 2 days to settle
		in := SLAInput{Open: true, ReconciliationStatus: StatusUnreconciled, Rule: bank,
			Coverage: Coverage{Provider: CoveragePresent, Chain: CoverageNotRequired, Bank: CoverageMissing, File: CoverageNotRequired}}
		in.Age = 47 * time.Hour
		require.False(t, ApplySLA(in).Delayed)
		in.Age = 48 * time.Hour
		require.True(t, ApplySLA(in).Delayed)
		require.False(t, ApplySLA(in).SLARisk)
		in.Age = time.Duration(72*60*80/100) * time.Minute
		require.True(t, ApplySLA(in).SLARisk)
	})
}
