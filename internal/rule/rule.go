// Package rule defines reconciliation rules — how evidence is matched to an
// intent and how the case is judged — the built-in defaults used when an
// organization has none that applies, and how one is chosen.
package rule

import (
	"slices"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Payment types of an intent.
const (
	PaymentStablecoin  = "stablecoin"
	PaymentBank        = "bank"
	PaymentCrossBorder = "cross_border"
	PaymentOther       = "other"
)

// PaymentTypes lists every payment type.
var PaymentTypes = []string{PaymentStablecoin, PaymentBank, PaymentCrossBorder, PaymentOther}

// Source types of evidence a rule can be limited to.
var SourceTypes = []string{"provider", "onchain", "bank", "file"}

// Leg types: the normalized pieces of evidence a case can require.
const (
	LegProvider = "provider_transfer"
	LegOnchain  = "onchain_transfer"
	LegBank     = "bank_settlement"
	LegFile     = "file_record"
)

// LegTypes lists every leg type.
var LegTypes = []string{LegProvider, LegOnchain, LegBank, LegFile}

// Rule is a reconciliation rule as evaluation uses it. ID is uuid.Nil for
// the built-in default.
type Rule struct {
	ID                                uuid.UUID       `json:"id"`
	Name                              string          `json:"name"`
	Priority                          int32           `json:"priority"`
	PaymentType                       *string         `json:"paymentType"`
	SourceType                        *string         `json:"sourceType"`
	IsActive                          bool            `json:"isActive"`
	AmountTolerance                   decimal.Decimal `json:"amountTolerance"`
	AmountToleranceBps                int32           `json:"amountToleranceBps"`
	TimeWindowMinutes                 int32           `json:"timeWindowMinutes"`
	AllowExplicitIDMatch              bool            `json:"allowExplicitIdMatch"`
	AllowProviderIDMatch              bool            `json:"allowProviderIdMatch"`
	AllowTxHashMatch                  bool            `json:"allowTxHashMatch"`
	AllowReferenceExactMatch          bool            `json:"allowReferenceExactMatch"`
	AllowAmountAndTimeWindowMatch     bool            `json:"allowAmountAndTimeWindowMatch"`
	RequiredLegTypes                  []string        `json:"requiredLegTypes"`
	RequireAllRequiredLegs            bool            `json:"requireAllRequiredLegs"`
	ExpectedCompletionMinutes         int32           `json:"expectedCompletionMinutes"`
	SLARiskThresholdPercent           int32           `json:"slaRiskThresholdPercent"`
	DelayedSettlementThresholdMinutes int32           `json:"delayedSettlementThresholdMinutes"`
}

// Default is the built-in rule for a payment type: the legs that type settles
// through, exact amounts, and completion times typical of the rail.
func Default(paymentType string) Rule {
	r := Rule{
		Name: "default", Priority: 1 << 30, IsActive: true,
		AmountTolerance: decimal.Zero, TimeWindowMinutes: 24 * 60,
		AllowExplicitIDMatch: true, AllowProviderIDMatch: true, AllowTxHashMatch: true,
		AllowReferenceExactMatch: true, AllowAmountAndTimeWindowMatch: true,
		RequireAllRequiredLegs: true, SLARiskThresholdPercent: 80,
	}
	pt := paymentType
	r.PaymentType = &pt
	switch paymentType {
	case PaymentStablecoin:
		r.RequiredLegTypes = []string{LegProvider, LegOnchain}
		r.ExpectedCompletionMinutes = 60
		r.DelayedSettlementThresholdMinutes = 30
	case PaymentBank, PaymentCrossBorder:
		r.RequiredLegTypes = []string{LegProvider, LegBank}
		r.ExpectedCompletionMinutes = 3 * 24 * 60
		r.DelayedSettlementThresholdMinutes = 2 * 24 * 60
	default:
		r.RequiredLegTypes = []string{LegProvider}
		r.ExpectedCompletionMinutes = 24 * 60
		r.DelayedSettlementThresholdMinutes = 12 * 60
	}
	return r
}

// Select picks the rule for a payment type and (optionally) an evidence
// source: the active rule with the lowest priority number among those whose
// payment type and source type match or are unset, the earliest on ties
// (rules must come ordered by priority, then creation). Without one, the
// built-in default applies. A rule for every payment type that names no
// required legs requires the legs of the payment type's default, so a
// catch-all rule that only tunes tolerances never loosens what a rail needs.
func Select(rules []Rule, paymentType string, sourceType *string) Rule {
	i := slices.IndexFunc(rules, func(r Rule) bool {
		if !r.IsActive || (r.PaymentType != nil && *r.PaymentType != paymentType) {
			return false
		}
		return r.SourceType == nil || (sourceType != nil && *r.SourceType == *sourceType)
	})
	if i < 0 {
		return Default(paymentType)
	}
	r := rules[i]
	if len(r.RequiredLegTypes) == 0 {
		r.RequiredLegTypes = Default(paymentType).RequiredLegTypes
	}
	return r
}
