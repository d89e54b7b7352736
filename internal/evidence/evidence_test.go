package evidence

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/rule"
)

var received = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestNormalize(t *testing.T) {
	t.Parallel()
	t.Run("provider", func(t *testing.T) {
		l, err := Normalize(SourceProvider, []byte(`{"provider":"acme","providerTransferId":"tr_1","status":"returned",
			"amount":{"amount":"1000.00","currency":"USD"},"destinationAmount":{"amount":"916","currency":"USDC"},
			"fxRate":"0.918","fees":{"providerFee":"1","networkFee":"0.5"},"externalReference":"order_1",
			"paymentIntentId":"5f0c7a36-1f70-4c47-9b61-6f57ad0b1d55","references":[{"type":"invoice","value":"INV-1"},{"type":"x","value":"ab"}],
			"occurredAt":"2026-11-20T08:00:00+01:00"}`), received)
		require.NoError(t, err)
		require.Equal(t, rule.LegProvider, l.Type)
		require.Equal(t, recon.LegReversed, l.Status, "returned is a reversal")
		require.Equal(t, "returned", l.SourceStatus)
		require.Equal(t, "provider:acme:tr_1", *l.Identity)
		require.Equal(t, "1000", l.Amount.String())
		require.Equal(t, "916", l.DestinationAmount.String())
		require.Equal(t, "USDC", *l.DestinationCurrency)
		require.Equal(t, "0.918", l.FxRate.String())
		require.Equal(t, "1", l.ProviderFee.String())
		require.Nil(t, l.DeveloperFee)
		require.Equal(t, "5f0c7a36-1f70-4c47-9b61-6f57ad0b1d55", l.PaymentIntentID.String())
		require.Equal(t, []string{"INV-1"}, l.ReferenceValues, "references shorter than 3 characters match too much")
		require.Equal(t, time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC), l.OccurredAt, "UTC")
	})
	t.Run("onchain", func(t *testing.T) {
		l, err := Normalize(SourceOnchain, []byte(`{"chainFamily":"evm","chainId":137,"txHash":"0xABCDEF","logIndex":3,
			"status":"missing","amount":{"amount":"5","currency":"USDC"},"networkFee":"0.01"}`), received)
		require.NoError(t, err)
		require.Equal(t, rule.LegOnchain, l.Type)
		require.Equal(t, recon.LegFailed, l.Status, "a transaction missing from the chain never settled")
		require.Equal(t, "tx:0xabcdef#3", *l.Identity, "EVM hashes are case-insensitive; the log index tells transfers apart")
		require.Equal(t, "137", *l.ChainID)
		require.Equal(t, received, l.OccurredAt, "no occurredAt: the time it was received")
		require.Equal(t, []string{}, l.ReferenceValues)
	})
	t.Run("bank", func(t *testing.T) {
		l, err := Normalize(SourceBank, []byte(`{"direction":"credit","amount":{"amount":"7.5","currency":"EUR"},"status":"booked",
			"bookingDate":"2026-11-19","endToEndId":"E2E-42","remittanceInformation":"Invoice INV-2024/001, order: ORD_9 (thanks)",
			"internalAccountId":"acct_1"}`), received)
		require.NoError(t, err)
		require.Equal(t, rule.LegBank, l.Type)
		require.Equal(t, recon.LegSettled, l.Status)
		require.Equal(t, "bank:E2E-42", *l.Identity)
		require.Equal(t, "acct_1", *l.BankAccount)
		require.Equal(t, time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), l.OccurredAt, "the booking date stands in for occurredAt")
		require.Equal(t, []string{"E2E-42", "Invoice", "INV-2024/001", "order", "ORD_9", "thanks"}, l.ReferenceValues)
	})
	t.Run("unknown source or status", func(t *testing.T) {
		_, err := Normalize("fax", []byte(`{}`), received)
		require.ErrorContains(t, err, "unknown evidence source")
		_, err = Normalize(SourceBank, []byte(`{"status":"lost","amount":{"amount":"1","currency":"EUR"}}`), received)
		require.ErrorContains(t, err, `unknown bank status "lost"`)
	})
}

func TestDerivedSourceRefs(t *testing.T) {
	t.Parallel()
	decode := func(body string, v any) {
		t.Helper()
		require.NoError(t, json.Unmarshal([]byte(body), v))
	}
	var p, p2 Provider
	decode(`{"provider":"a:b","providerTransferId":"c","status":"completed"}`, &p)
	decode(`{"provider":"a","providerTransferId":"b:c","status":"completed"}`, &p2)
	require.Equal(t, "a%3Ab:c:completed", p.SourceRef())
	require.NotEqual(t, p.SourceRef(), p2.SourceRef(), "a ':' inside a part cannot make two transfers collide")

	var o, o2 Onchain
	decode(`{"chainFamily":"evm","chainId":1,"txHash":"0xAB","status":"confirmed"}`, &o)
	decode(`{"chainFamily":"evm","chainId":"1","txHash":"0xab","logIndex":2,"status":"confirmed"}`, &o2)
	require.Equal(t, "evm:1:0xab:confirmed", o.SourceRef())
	require.Equal(t, "evm:1:0xab%232:confirmed", o2.SourceRef(), "one transaction, several transfers")

	var b1, b2 Bank
	line := `{"bankAccount":"DE89","direction":"credit","amount":{"amount":"AMOUNT","currency":"EUR"},"status":"booked","bookingDate":"2026-11-19","bankReference":"NONREF"}`
	decode(strings.Replace(line, "AMOUNT", "10.00", 1), &b1)
	decode(strings.Replace(line, "AMOUNT", "12.00", 1), &b2)
	require.NotEqual(t, b1.SourceRef(), b2.SourceRef(), "statements reuse placeholder references")
	var again Bank
	decode(strings.Replace(line, "AMOUNT", "10.00", 1), &again)
	require.Equal(t, b1.SourceRef(), again.SourceRef(), "the same line resent is the same evidence")

	ref := "client-ref"
	b1.Common.SourceRef = &ref
	require.Equal(t, "client-ref", b1.SourceRef(), "the client's own sourceRef wins")
}

// Normalize reads stored payloads; whatever bytes it gets, it returns an
// error or a leg, never panics.
func FuzzNormalize(f *testing.F) {
	f.Add(SourceProvider, []byte(`{"provider":"a","providerTransferId":"b","status":"completed","amount":{"amount":"1","currency":"USD"}}`))
	f.Add(SourceOnchain, []byte(`{"chainFamily":"evm","txHash":"0x1","status":"pending","amount":{"amount":"1","currency":"USDC"},"logIndex":1}`))
	f.Add(SourceBank, []byte(`{"status":"booked","bookingDate":"2026-01-01","remittanceInformation":"a b c"}`))
	f.Fuzz(func(t *testing.T, source string, payload []byte) {
		l, err := Normalize(source, payload, received)
		if err == nil && l.ReferenceValues == nil {
			t.Fatal("a leg always has a reference list")
		}
	})
}
