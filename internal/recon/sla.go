package recon

import (
	"time"

	"github.com/reconlayer/reconlayer/internal/rule"
)

// SLAInput is what the time-driven part of a judgement reads: the verdict
// and exception the evidence gives (Evaluate's), where the case stands, and
// how old its payment is.
type SLAInput struct {
	Verdict              *string
	ExceptionType        *string
	ReconciliationStatus string
	// Open: the case is open (resolved and archived cases are not scored).
	Open     bool
	Coverage Coverage
	Rule     rule.Rule
	// Age is the time since the payment intent (and with it the case) was
	// created.
	Age time.Duration
}

// SLAOutcome is the judgement with time taken into account.
type SLAOutcome struct {
	Verdict       *string
	ExceptionType *string
	SLARisk       bool
	// Delayed: a required leg is missing or pending past the rule's
	// settlement threshold.
	Delayed bool
}

// AgeMinutes is slaAgeMinutes: whole minutes, rounded down.
func AgeMinutes(age time.Duration) int64 { return int64(age / time.Minute) }

// ApplySLA overlays the SLA outcome on an evaluation. Only an open case that
// has not reconciled is late: slaRisk once its age reaches
// slaRiskThresholdPercent of expectedCompletionMinutes, delayed once a
// required leg is still missing or pending delayedSettlementThresholdMinutes
// after the payment started. The verdict then says so (sla_risk before
// delayed, as the broader of the two), and a delayed case's exception is
// timing_delay, except when the evidence already needs review: a human must
// look at that case anyway, and its exception names the actual problem
// (slaRisk is still reported). When the case reconciles, or is resolved or
// archived, the evaluation's own verdict and exception stand.
//
// internal/sla's scoring query computes the same thing in SQL for every
// open case at once; TestScoreMatchesApplySLA holds the two together.
func ApplySLA(in SLAInput) SLAOutcome {
	out := SLAOutcome{Verdict: in.Verdict, ExceptionType: in.ExceptionType}
	if !in.Open || in.ReconciliationStatus == StatusReconciled {
		return out
	}
	age := AgeMinutes(in.Age)
	r := in.Rule
	out.SLARisk = r.ExpectedCompletionMinutes > 0 &&
		age*100 >= int64(r.ExpectedCompletionMinutes)*int64(r.SLARiskThresholdPercent)
	out.Delayed = age >= int64(r.DelayedSettlementThresholdMinutes) && legLate(r, in.Coverage)
	if in.Verdict != nil && *in.Verdict == VerdictNeedsReview {
		return out
	}
	if out.Delayed {
		out.ExceptionType = ptr(ExceptionTimingDelay)
	}
	switch {
	case out.SLARisk:
		out.Verdict = ptr(VerdictSLARisk)
	case out.Delayed:
		out.Verdict = ptr(VerdictDelayed)
	}
	return out
}

// legLate: a leg the rule requires is missing or still pending.
func legLate(r rule.Rule, c Coverage) bool {
	for _, t := range r.RequiredLegTypes {
		if cov := c.forLeg(t); cov == CoverageMissing || cov == CoveragePending {
			return true
		}
	}
	return false
}
