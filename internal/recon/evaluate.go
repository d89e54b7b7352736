package recon

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/rule"
)

// Verdicts evaluation gives (sla_risk and delayed come from SLA scoring).
const (
	VerdictMatched              = "matched"
	VerdictMatchedWithException = "matched_with_exception"
	VerdictNeedsReview          = "needs_review"
	VerdictUnreconciled         = "unreconciled"
	VerdictSLARisk              = "sla_risk"
	VerdictDelayed              = "delayed"
)

// Reconciliation statuses.
const (
	StatusUnreconciled          = "unreconciled"
	StatusTentativelyReconciled = "tentatively_reconciled"
	StatusReconciled            = "reconciled"
)

// Exception types.
const (
	ExceptionAmountMismatch    = "amount_mismatch"
	ExceptionMissingLeg        = "missing_leg"
	ExceptionFeeOutOfTolerance = "fee_out_of_tolerance"
	ExceptionFXVariance        = "fx_variance"
	ExceptionDuplicateEvidence = "duplicate_evidence"
	ExceptionConflictingStatus = "conflicting_status"
	ExceptionCurrencyMismatch  = "currency_mismatch"
	ExceptionTimingDelay       = "timing_delay"
	ExceptionAmbiguousMatch    = "ambiguous_match"
)

// Intent is what evaluation needs of a payment intent.
type Intent struct {
	SourceAmount         decimal.Decimal
	SourceCurrency       string
	DestinationAmount    decimal.Decimal
	DestinationCurrency  string
	ExpectedFxRate       *decimal.Decimal
	DeveloperFeeExpected *decimal.Decimal
}

// EvidenceLeg is a normalized flow leg attached to the case. Fees are in the
// intent's destination currency.
type EvidenceLeg struct {
	ID     uuid.UUID
	Type   string // rule.Leg*
	Status string // LegPending, LegSettled, LegFailed, LegReversed
	// Identity names the transfer the leg reports (provider transfer id, tx
	// hash, bank reference); legs of one type with the same non-empty
	// identity are successive reports of one transfer, the latest wins.
	Identity            string
	Amount              decimal.Decimal
	Currency            string
	DestinationAmount   *decimal.Decimal
	DestinationCurrency *string
	FxRate              *decimal.Decimal
	ProviderFee         *decimal.Decimal
	NetworkFee          *decimal.Decimal
	DeveloperFee        *decimal.Decimal
	OccurredAt          time.Time
}

// Input is everything a case is judged from.
type Input struct {
	Intent Intent
	Rule   rule.Rule
	Legs   []EvidenceLeg
	// Ambiguous counts evidence legs that could belong to this case but
	// also to another one, so the matcher did not link them.
	Ambiguous int
}

// Outcome is the judgement, field for field what the case stores. Amounts
// other than ExpectedAmount are nil until the case has evidence.
type Outcome struct {
	ExpectedAmount       decimal.Decimal
	ActualAmount         *decimal.Decimal
	ProviderFee          *decimal.Decimal
	NetworkFee           *decimal.Decimal
	DeveloperFee         *decimal.Decimal
	FxSpread             *decimal.Decimal
	RoundingDelta        *decimal.Decimal
	UnexplainedDelta     *decimal.Decimal
	Verdict              *string
	ReconciliationStatus string
	ExceptionType        *string
	Coverage             Coverage
	RequiredLegsTotal    int
	RequiredLegsPresent  int
	// Current lists the legs that count (superseded reports left out).
	Current []uuid.UUID
}
