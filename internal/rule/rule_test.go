package rule

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func ptr(s string) *string { return &s }

func TestDefaultsRequireTheLegsOfTheRail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		paymentType string
		legs        []string
	}{
		{PaymentStablecoin, []string{LegProvider, LegOnchain}},
		{PaymentBank, []string{LegProvider, LegBank}},
		{PaymentCrossBorder, []string{LegProvider, LegBank}},
		{PaymentOther, []string{LegProvider}},
	} {
		r := Default(tc.paymentType)
		require.Equal(t, tc.legs, r.RequiredLegTypes, tc.paymentType)
		require.Equal(t, uuid.Nil, r.ID)
		require.Equal(t, tc.paymentType, *r.PaymentType)
		require.Positive(t, r.ExpectedCompletionMinutes)
		require.Less(t, r.DelayedSettlementThresholdMinutes, r.ExpectedCompletionMinutes)
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	anyBank := Rule{ID: uuid.New(), Name: "bank any source", PaymentType: ptr(PaymentBank), IsActive: true, Priority: 10}
	bankFile := Rule{ID: uuid.New(), Name: "bank files", PaymentType: ptr(PaymentBank), SourceType: ptr("file"), IsActive: true, Priority: 5}
	inactive := Rule{ID: uuid.New(), Name: "off", IsActive: false, Priority: 1}
	catchAll := Rule{ID: uuid.New(), Name: "everything", IsActive: true, Priority: 50}
	rules := []Rule{inactive, bankFile, anyBank, catchAll} // ordered by priority

	require.Equal(t, "bank any source", Select(rules, PaymentBank, nil).Name, "a source-specific rule needs that source")
	require.Equal(t, "bank files", Select(rules, PaymentBank, ptr("file")).Name)
	require.Equal(t, "bank any source", Select(rules, PaymentBank, ptr("provider")).Name)
	require.Equal(t, "everything", Select(rules, PaymentStablecoin, nil).Name)
	require.Equal(t, "default", Select([]Rule{inactive, bankFile}, PaymentStablecoin, nil).Name)
	require.Equal(t, "default", Select(nil, PaymentOther, nil).Name)
}

func TestSelectFillsTheLegsOfACatchAllRule(t *testing.T) {
	t.Parallel()
	tolerant := Rule{ID: uuid.New(), Name: "tolerant", IsActive: true, Priority: 1}
	require.Equal(t, []string{LegProvider, LegBank}, Select([]Rule{tolerant}, PaymentBank, nil).RequiredLegTypes)
	require.Equal(t, []string{LegProvider, LegOnchain}, Select([]Rule{tolerant}, PaymentStablecoin, nil).RequiredLegTypes)
	require.Empty(t, tolerant.RequiredLegTypes, "the stored rule is not changed")
}
