package recon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/rule"
)

func TestCoverageOf(t *testing.T) {
	t.Parallel()
	stable := rule.Default(rule.PaymentStablecoin) // provider + onchain
	for _, tc := range []struct {
		name           string
		legs           []Leg
		want           Coverage
		total, present int
	}{
		{"no evidence yet", nil,
			Coverage{"present", "missing", "missing", "not_required", "not_required"}, 2, 0},
		{"provider settled, chain pending", []Leg{{rule.LegProvider, LegSettled}, {rule.LegOnchain, LegPending}},
			Coverage{"present", "present", "pending", "not_required", "not_required"}, 2, 1},
		{"both settled", []Leg{{rule.LegProvider, LegSettled}, {rule.LegOnchain, LegSettled}},
			Coverage{"present", "present", "present", "not_required", "not_required"}, 2, 2},
		{"failed chain leg", []Leg{{rule.LegProvider, LegSettled}, {rule.LegOnchain, LegFailed}},
			Coverage{"present", "present", "failed", "not_required", "not_required"}, 2, 1},
		{"a settled leg outranks a failed one", []Leg{{rule.LegOnchain, LegFailed}, {rule.LegOnchain, LegSettled}},
			Coverage{"present", "missing", "present", "not_required", "not_required"}, 2, 1},
		{"unrequired evidence shows but does not count", []Leg{{rule.LegBank, LegSettled}, {rule.LegFile, LegReversed}},
			Coverage{"present", "missing", "missing", "present", "failed"}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, total, present := CoverageOf(stable, tc.legs)
			require.Equal(t, tc.want, c)
			require.Equal(t, tc.total, total)
			require.Equal(t, tc.present, present)
		})
	}
}
