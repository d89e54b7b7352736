package rule

import (
	"slices"
	"strings"

	"github.com/reconlayer/reconlayer/internal/validate"
)

// Validate checks a whole rule as it would be stored, naming fields by
// their JSON names. The api validates a POST or PATCH and the console its
// edit form by it, so both refuse the same rules with the same words.
func Validate(r Rule) validate.Issues {
	var is validate.Issues
	if r.Name == "" || validate.Chars(r.Name) > 200 {
		is.Add([]string{"name"}, "Required; 1 to 200 characters.")
	}
	if r.PaymentType != nil && !slices.Contains(PaymentTypes, *r.PaymentType) {
		is.Add([]string{"paymentType"}, "Must be one of %s, or null for every type.", strings.Join(PaymentTypes, ", "))
	}
	if r.SourceType != nil && !slices.Contains(SourceTypes, *r.SourceType) {
		is.Add([]string{"sourceType"}, "Must be one of %s, or null for every source.", strings.Join(SourceTypes, ", "))
	}
	if r.Priority < 0 || r.Priority > MaxPriority {
		is.Add([]string{"priority"}, "Must be from 0 to %d (lower runs first).", MaxPriority)
	}
	if r.AmountTolerance.IsNegative() {
		is.Add([]string{"amountTolerance"}, "Must not be negative.")
	}
	if r.AmountToleranceBps < 0 || r.AmountToleranceBps > 10000 {
		is.Add([]string{"amountToleranceBps"}, "Must be from 0 to 10000 basis points.")
	}
	minutes := func(name string, v int32) {
		if v < 1 || v > MaxMinutes {
			is.Add([]string{name}, "Must be from 1 to %d minutes (a year).", MaxMinutes)
		}
	}
	minutes("timeWindowMinutes", r.TimeWindowMinutes)
	minutes("expectedCompletionMinutes", r.ExpectedCompletionMinutes)
	minutes("delayedSettlementThresholdMinutes", r.DelayedSettlementThresholdMinutes)
	if r.SLARiskThresholdPercent < 1 || r.SLARiskThresholdPercent > 100 {
		is.Add([]string{"slaRiskThresholdPercent"}, "Must be from 1 to 100.")
	}
	if len(r.RequiredLegTypes) == 0 && r.PaymentType != nil {
		is.Add([]string{"requiredLegTypes"}, "Must name at least one of %s (only a rule for every payment type may leave it empty).",
			strings.Join(LegTypes, ", "))
	}
	for i, t := range r.RequiredLegTypes {
		switch {
		case !slices.Contains(LegTypes, t):
			is.Add([]string{"requiredLegTypes", validate.Index(i)}, "Must be one of %s.", strings.Join(LegTypes, ", "))
		case slices.Index(r.RequiredLegTypes, t) != i:
			is.Add([]string{"requiredLegTypes", validate.Index(i)}, "%q is listed twice.", t)
		}
	}
	return is
}

// Bounds of a stored rule's fields.
const (
	MaxPriority = 1_000_000
	MaxMinutes  = 525_600 // a year
)
