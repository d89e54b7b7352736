package recon

import (
	"slices"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/rule"
)

// Evaluate judges a case from its intent, its rule and the evidence legs
// linked to it. It is a pure function: the worker re-runs it from scratch
// whenever evidence arrives, so a case never depends on the order in which
// its legs were evaluated, only on the legs themselves.
//
// Evaluation reads only the current report of each transfer: providers and
// chains report one transfer several times (pending, then settled, maybe
// reversed later), and treating those as separate money movements would
// double-count or flag them as duplicates.
//
// Amounts are computed even when the verdict is not matched, so that an
// operator looking at a case under review sees how far apart the numbers
// are. The verdict checks run from "the evidence itself cannot be trusted"
// (ambiguity, duplicates, contradicting statuses, wrong currency) to "the
// evidence is fine but the money is off", so that a delta computed from
// untrustworthy evidence is never reported as the reason.
func Evaluate(in Input) Outcome {
	cur := currentLegs(in.Legs)

	out := Outcome{
		ExpectedAmount:       in.Intent.DestinationAmount,
		ReconciliationStatus: StatusUnreconciled,
	}
	covLegs := make([]Leg, len(cur))
	for i, l := range cur {
		covLegs[i] = Leg{Type: l.Type, Status: l.Status}
	}
	out.Coverage, out.RequiredLegsTotal, out.RequiredLegsPresent = CoverageOf(in.Rule, covLegs)

	if len(cur) == 0 {
		// No evidence yet: nothing to judge, unless the matcher saw evidence
		// it could not attribute, which a human has to look at.
		if in.Ambiguous > 0 {
			out.Verdict = ptr(VerdictNeedsReview)
			out.ExceptionType = ptr(ExceptionAmbiguousMatch)
		}
		return out
	}

	out.Current = make([]uuid.UUID, len(cur))
	for i, l := range cur {
		out.Current[i] = l.ID
	}

	live := make([]*EvidenceLeg, 0, len(cur))
	for _, l := range cur {
		if l.Status == LegPending || l.Status == LegSettled {
			live = append(live, l)
		}
	}

	a := computeAmounts(in.Intent, live)
	out.ActualAmount = a.actual
	out.ProviderFee = ptr(a.providerFee)
	out.NetworkFee = ptr(a.networkFee)
	out.DeveloperFee = ptr(a.developerFee)
	out.FxSpread = ptr(a.fxSpread)
	out.RoundingDelta = a.rounding
	out.UnexplainedDelta = a.unexplained

	verdict, exception := judge(in, cur, live, a)
	out.Verdict = ptr(verdict)
	if exception != "" {
		out.ExceptionType = ptr(exception)
	}
	if verdict == VerdictMatched || verdict == VerdictMatchedWithException {
		out.ReconciliationStatus = StatusReconciled
		for _, l := range live {
			if l.Status == LegPending {
				// The amounts agree, but a pending leg can still fail or be
				// reversed, so the case is not final yet.
				out.ReconciliationStatus = StatusTentativelyReconciled
				break
			}
		}
	}
	return out
}

// legKey identifies one transfer: successive reports of it share the key.
type legKey struct{ typ, identity string }

// currentLegs returns, in input order, the legs that are the latest report
// of their transfer. A leg without an identity cannot be tied to other
// reports and always counts. On equal OccurredAt the later leg in the slice
// wins, since legs arrive in the order they were received.
func currentLegs(legs []EvidenceLeg) []*EvidenceLeg {
	latest := make(map[legKey]int, len(legs))
	for i := range legs {
		l := &legs[i]
		if l.Identity == "" {
			continue
		}
		k := legKey{l.Type, l.Identity}
		if j, ok := latest[k]; !ok || !l.OccurredAt.Before(legs[j].OccurredAt) {
			latest[k] = i
		}
	}
	cur := make([]*EvidenceLeg, 0, len(legs))
	for i := range legs {
		l := &legs[i]
		if l.Identity == "" || latest[legKey{l.Type, l.Identity}] == i {
			cur = append(cur, l)
		}
	}
	return cur
}

// amounts are the money figures of a case with evidence. actual, rounding
// and unexplained are nil when no live leg reports an amount in the
// destination currency: a delta against a made-up zero would be noise.
type amounts struct {
	actual       *decimal.Decimal
	providerFee  decimal.Decimal
	networkFee   decimal.Decimal
	developerFee decimal.Decimal
	fxSpread     decimal.Decimal
	rounding     *decimal.Decimal
	unexplained  *decimal.Decimal
}

func computeAmounts(it Intent, live []*EvidenceLeg) amounts {
	var a amounts
	a.actual = actualAmount(live, it.DestinationCurrency)

	var providerNet, chainNet, providerDev decimal.Decimal
	providerReportsNet, providerReportsDev := false, false
	var rate *decimal.Decimal
	for _, l := range live {
		switch l.Type {
		case rule.LegProvider:
			if l.ProviderFee != nil {
				a.providerFee = a.providerFee.Add(*l.ProviderFee)
			}
			if l.NetworkFee != nil {
				providerNet = providerNet.Add(*l.NetworkFee)
				providerReportsNet = true
			}
			if l.DeveloperFee != nil {
				providerDev = providerDev.Add(*l.DeveloperFee)
				providerReportsDev = true
			}
			if rate == nil && l.FxRate != nil {
				rate = l.FxRate
			}
		case rule.LegOnchain:
			if l.NetworkFee != nil {
				chainNet = chainNet.Add(*l.NetworkFee)
			}
		}
	}

	// A provider that pays out on chain usually passes the gas on in its own
	// fee breakdown; the chain leg reports the same gas. Counting both would
	// explain the same money twice, so the provider's figure wins and the
	// chain's is a fallback.
	if providerReportsNet {
		a.networkFee = providerNet
	} else {
		a.networkFee = chainNet
	}

	// A developer fee the client told us to expect explains the difference
	// even when the provider does not itemize it.
	switch {
	case providerReportsDev:
		a.developerFee = providerDev
	case it.DeveloperFeeExpected != nil:
		a.developerFee = *it.DeveloperFeeExpected
	}

	// The spread is in destination currency: the source amount converted at
	// the rate the client was quoted minus at the rate actually applied.
	if it.ExpectedFxRate != nil && it.SourceCurrency != it.DestinationCurrency && rate != nil {
		a.fxSpread = it.SourceAmount.Mul(it.ExpectedFxRate.Sub(*rate))
	}

	if a.actual == nil {
		return a
	}
	residual := it.DestinationAmount.Sub(*a.actual).
		Sub(a.providerFee).Sub(a.networkFee).Sub(a.developerFee).Sub(a.fxSpread)
	// Less than the smallest settleable unit can only come from rounding in a
	// conversion; it says nothing about lost money. An unknown currency has
	// no known precision, so nothing is written off as rounding.
	if c, ok := money.LookupCurrency(it.DestinationCurrency); ok &&
		!residual.IsZero() && residual.Abs().LessThan(c.MinorUnit()) {
		a.rounding, a.unexplained = ptr(residual), ptr(decimal.Zero)
	} else {
		a.rounding, a.unexplained = ptr(decimal.Zero), ptr(residual)
	}
	return a
}

// settlingTypes are the legs that show money arriving, strongest first.
var settlingTypes = [...]string{rule.LegOnchain, rule.LegBank, rule.LegFile}

// actualAmount is what arrived in the destination currency. A chain, bank
// or file leg records the movement itself and beats the provider's own
// account of it; of the provider's figures the converted destination amount
// is the specific one, its plain amount only counts when it is already in
// the destination currency.
func actualAmount(live []*EvidenceLeg, dest string) *decimal.Decimal {
	for _, t := range settlingTypes {
		for _, l := range live {
			if l.Type == t && l.Currency == dest {
				return ptr(l.Amount)
			}
		}
	}
	for _, l := range live {
		if l.Type == rule.LegProvider && l.DestinationAmount != nil &&
			l.DestinationCurrency != nil && *l.DestinationCurrency == dest {
			return ptr(*l.DestinationAmount)
		}
	}
	for _, l := range live {
		if l.Type == rule.LegProvider && l.Currency == dest {
			return ptr(l.Amount)
		}
	}
	return nil
}

// judge gives the verdict and exception type ("" for none) of a case with at
// least one current leg. The first rule that applies wins.
func judge(in Input, cur, live []*EvidenceLeg, a amounts) (verdict, exception string) {
	it, r := in.Intent, in.Rule
	switch {
	case in.Ambiguous > 0:
		// Evidence that may belong here was left out; whatever we computed
		// might change once a human attributes it.
		return VerdictNeedsReview, ExceptionAmbiguousMatch
	case hasDuplicate(live):
		// Two live transfers of one kind for one intent: maybe paid twice.
		return VerdictNeedsReview, ExceptionDuplicateEvidence
	case hasConflict(cur):
		return VerdictNeedsReview, ExceptionConflictingStatus
	case len(live) == 0:
		// Everything failed or was reversed: nothing moved, and no amount can
		// be in the wrong currency. This is checked before currency so that a
		// failed-only case is not mistaken for a currency problem merely
		// because it has no actual amount.
		return VerdictUnreconciled, ""
	case a.actual == nil || hasCurrencyMismatch(it, live):
		return VerdictNeedsReview, ExceptionCurrencyMismatch
	case !complete(r, live):
		return VerdictUnreconciled, ExceptionMissingLeg
	}

	allowance := decimal.Max(r.AmountTolerance,
		it.DestinationAmount.Mul(decimal.New(int64(r.AmountToleranceBps), -4)))
	if a.unexplained.Abs().GreaterThan(allowance) {
		return VerdictNeedsReview, ExceptionAmountMismatch
	}
	// Fees the client agreed to (its expected developer fee) are not a
	// surprise; everything else taken on the way is.
	expectedDev := decimal.Zero
	if it.DeveloperFeeExpected != nil {
		expectedDev = *it.DeveloperFeeExpected
	}
	unexpected := a.providerFee.Add(a.networkFee).
		Add(decimal.Max(decimal.Zero, a.developerFee.Sub(expectedDev)))
	if unexpected.GreaterThan(allowance) {
		return VerdictMatchedWithException, ExceptionFeeOutOfTolerance
	}
	if a.fxSpread.Abs().GreaterThan(allowance) {
		return VerdictMatchedWithException, ExceptionFXVariance
	}
	return VerdictMatched, ""
}

// hasDuplicate reports two live current legs of one type; being current,
// they report different transfers.
func hasDuplicate(live []*EvidenceLeg) bool {
	for i, l := range live {
		for _, m := range live[i+1:] {
			if l.Type == m.Type {
				return true
			}
		}
	}
	return false
}

// hasConflict reports a case where one source says the money settled and
// another says it failed or came back.
func hasConflict(cur []*EvidenceLeg) bool {
	settled, failed := false, false
	for _, l := range cur {
		switch l.Status {
		case LegSettled:
			settled = true
		case LegFailed, LegReversed:
			failed = true
		}
	}
	return settled && failed
}

// hasCurrencyMismatch reports a live leg whose money is in a currency the
// intent does not involve. A provider leg may be in the source currency (it
// took the funds in) if it converts to the destination currency.
func hasCurrencyMismatch(it Intent, live []*EvidenceLeg) bool {
	dest := it.DestinationCurrency
	for _, l := range live {
		switch l.Type {
		case rule.LegOnchain, rule.LegBank, rule.LegFile:
			if l.Currency != dest {
				return true
			}
		case rule.LegProvider:
			if l.Currency != it.SourceCurrency && l.Currency != dest &&
				(l.DestinationCurrency == nil || *l.DestinationCurrency != dest) {
				return true
			}
		}
	}
	return false
}

// complete says whether the rule's required legs are there. Pending counts:
// a pending leg makes the case tentatively reconciled, not incomplete.
func complete(r rule.Rule, live []*EvidenceLeg) bool {
	if len(r.RequiredLegTypes) == 0 {
		return len(live) > 0
	}
	has := func(t string) bool {
		return slices.ContainsFunc(live, func(l *EvidenceLeg) bool { return l.Type == t })
	}
	if r.RequireAllRequiredLegs {
		return !slices.ContainsFunc(r.RequiredLegTypes, func(t string) bool { return !has(t) })
	}
	return slices.ContainsFunc(r.RequiredLegTypes, has)
}

func ptr[T any](v T) *T { return &v }
