package rule

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := func() Rule { r := Default(PaymentStablecoin); r.Priority = 10; return r }
	for _, tc := range []struct {
		name   string
		change func(*Rule)
		paths  []string // of every issue, in order
	}{
		{"the defaults", func(*Rule) {}, nil},
		{"for every payment type, no legs named", func(r *Rule) { r.PaymentType, r.RequiredLegTypes = nil, nil }, nil},
		{"bounds inclusive", func(r *Rule) {
			r.Priority, r.AmountToleranceBps, r.SLARiskThresholdPercent = MaxPriority, 10000, 100
			r.TimeWindowMinutes, r.ExpectedCompletionMinutes, r.DelayedSettlementThresholdMinutes = 1, MaxMinutes, 1
		}, nil},
		{"blank name", func(r *Rule) { r.Name = "" }, []string{"name"}},
		{"unknown types", func(r *Rule) { r.PaymentType, r.SourceType = ptr("card"), ptr("fax") }, []string{"paymentType", "sourceType"}},
		{"negative priority", func(r *Rule) { r.Priority = -1 }, []string{"priority"}},
		{"priority too high", func(r *Rule) { r.Priority = MaxPriority + 1 }, []string{"priority"}},
		{"negative tolerance", func(r *Rule) { r.AmountTolerance = decimal.RequireFromString("-0.01") }, []string{"amountTolerance"}},
		{"bps out of range", func(r *Rule) { r.AmountToleranceBps = 10001 }, []string{"amountToleranceBps"}},
		{"minutes out of range", func(r *Rule) {
			r.TimeWindowMinutes, r.ExpectedCompletionMinutes, r.DelayedSettlementThresholdMinutes = 0, MaxMinutes+1, -5
		}, []string{"timeWindowMinutes", "expectedCompletionMinutes", "delayedSettlementThresholdMinutes"}},
		{"sla percent zero", func(r *Rule) { r.SLARiskThresholdPercent = 0 }, []string{"slaRiskThresholdPercent"}},
		{"no legs for one payment type", func(r *Rule) { r.RequiredLegTypes = nil }, []string{"requiredLegTypes"}},
		{"unknown and repeated legs", func(r *Rule) { r.RequiredLegTypes = []string{LegProvider, "carrier_pigeon", LegProvider} },
			[]string{"requiredLegTypes.1", "requiredLegTypes.2"}},
	} {
		r := valid()
		tc.change(&r)
		var paths []string
		for _, is := range Validate(r) {
			paths = append(paths, strings.Join(is.Path, "."))
			require.NotEmpty(t, is.Message)
		}
		require.Equal(t, tc.paths, paths, tc.name)
	}
	require.Equal(t, "Must be from 0 to 1000000 (lower runs first).", Validate(Rule{Name: "x", Priority: -1, TimeWindowMinutes: 1,
		ExpectedCompletionMinutes: 1, DelayedSettlementThresholdMinutes: 1, SLARiskThresholdPercent: 1})[0].Message)
}
