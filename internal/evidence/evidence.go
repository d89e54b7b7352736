// Package evidence owns what actually happened: evidence records as
// submitted (provider events, on-chain transfers, bank lines), stored once
// per (organization, source, sourceRef) and never edited, and their
// normalization into flow legs — the one shape the matcher works on.
package evidence

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/rule"
)

// Sources of evidence.
const (
	SourceProvider = "provider"
	SourceOnchain  = "onchain"
	SourceBank     = "bank"
	SourceFile     = "file"
)

// Statuses each source reports, as the API accepts them.
var (
	ProviderStatuses = []string{"pending", "completed", "failed", "reversed", "returned"}
	OnchainStatuses  = []string{"pending", "confirmed", "failed", "reversed", "missing"}
	BankStatuses     = []string{"pending", "booked"}
)

// legStatus maps a source's own status onto the leg statuses evaluation
// knows. A transaction missing from the chain never settled: failed.
var legStatus = map[string]string{
	"pending": recon.LegPending, "completed": recon.LegSettled, "confirmed": recon.LegSettled,
	"booked": recon.LegSettled, "failed": recon.LegFailed, "missing": recon.LegFailed,
	"reversed": recon.LegReversed, "returned": recon.LegReversed,
}

// Money is an amount with its currency.
type Money struct {
	Amount   *money.Amount `json:"amount"`
	Currency string        `json:"currency"`
}

// Reference is a typed reference the evidence carries (invoice number,
// end-to-end id …).
type Reference struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Common are the fields every source shares.
type Common struct {
	PaymentIntentID   *string         `json:"paymentIntentId"`
	ExternalReference *string         `json:"externalReference"`
	SourceRef         *string         `json:"sourceRef"`
	OccurredAt        *time.Time      `json:"occurredAt"`
	References        []Reference     `json:"references"`
	Payload           json.RawMessage `json:"payload"`
}

// Fees are what a provider reports it kept, in the destination currency.
type Fees struct {
	ProviderFee  *money.Amount `json:"providerFee"`
	NetworkFee   *money.Amount `json:"networkFee"`
	DeveloperFee *money.Amount `json:"developerFee"`
}

// Provider is a payment provider's report of a transfer.
type Provider struct {
	Provider           string        `json:"provider"`
	ProviderTransferID string        `json:"providerTransferId"`
	Status             string        `json:"status"`
	Amount             *Money        `json:"amount"`
	DestinationAmount  *Money        `json:"destinationAmount"`
	FxRate             *money.Amount `json:"fxRate"`
	Fees               *Fees         `json:"fees"`
	Common
}

// ChainID is a chain id sent as a JSON number (EVM: 1, 137, 8453) or string.
type ChainID string

// UnmarshalJSON accepts a non-negative integer or a non-empty string.
func (c *ChainID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = ChainID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("must be an integer or a string")
	}
	if _, err := n.Int64(); err != nil || strings.HasPrefix(n.String(), "-") {
		return fmt.Errorf("must be a non-negative integer or a string")
	}
	*c = ChainID(n.String())
	return nil
}

// Onchain is a transfer observed on a blockchain.
type Onchain struct {
	ChainFamily string   `json:"chainFamily"`
	ChainID     *ChainID `json:"chainId"`
	TxHash      string   `json:"txHash"`
	// LogIndex tells transfers of one transaction apart (a batch payout).
	LogIndex     *int64        `json:"logIndex"`
	Status       string        `json:"status"`
	Amount       *Money        `json:"amount"`
	FromAddress  *string       `json:"fromAddress"`
	ToAddress    *string       `json:"toAddress"`
	TokenAddress *string       `json:"tokenAddress"`
	NetworkFee   *money.Amount `json:"networkFee"`
	Common
}

// Bank is a bank statement line or bank notification.
type Bank struct {
	InternalAccountID     *string `json:"internalAccountId"`
	BankAccount           *string `json:"bankAccount"`
	Direction             string  `json:"direction"`
	Amount                *Money  `json:"amount"`
	Status                string  `json:"status"`
	BookingDate           *string `json:"bookingDate"`
	ValueDate             *string `json:"valueDate"`
	BankReference         *string `json:"bankReference"`
	EndToEndID            *string `json:"endToEndId"`
	RemittanceInformation *string `json:"remittanceInformation"`
	CounterpartyName      *string `json:"counterpartyName"`
	Common
}

// SourceRef is the key a submission is deduplicated on: the one the client
// gave, or one derived from what identifies the report (the same transfer in
// the same status is the same evidence). Parts are escaped, so a ':' inside
// one cannot make two different reports collide.
func (p *Provider) SourceRef() string {
	if p.Common.SourceRef != nil {
		return *p.Common.SourceRef
	}
	return refKey(p.Provider, p.ProviderTransferID, p.Status)
}

// SourceRef: see Provider.SourceRef.
func (o *Onchain) SourceRef() string {
	if o.Common.SourceRef != nil {
		return *o.Common.SourceRef
	}
	chain := ""
	if o.ChainID != nil {
		chain = string(*o.ChainID)
	}
	return refKey(o.ChainFamily, chain, o.transfer(), o.Status)
}

// transfer names the on-chain transfer: the transaction hash (lower-cased
// where the family's hashes are case-insensitive hex) and, when given, the
// log index within the transaction.
func (o *Onchain) transfer() string {
	h := o.TxHash
	if strings.HasPrefix(h, "0x") || strings.HasPrefix(h, "0X") {
		h = strings.ToLower(h)
	}
	if o.LogIndex != nil {
		h += "#" + strconv.FormatInt(*o.LogIndex, 10)
	}
	return h
}

// SourceRef: see Provider.SourceRef. A bank line is its account, direction,
// amount, date and reference: statements reuse placeholder references
// (NONREF, NOTPROVIDED), so the reference alone does not identify a line.
// Without a client sourceRef a line needs a bank reference or end-to-end id
// (the API enforces it).
func (b *Bank) SourceRef() string {
	if b.Common.SourceRef != nil {
		return *b.Common.SourceRef
	}
	amount, currency := "", ""
	if b.Amount != nil && b.Amount.Amount != nil {
		amount, currency = b.Amount.Amount.String(), b.Amount.Currency
	}
	date := deref(first(b.BookingDate, b.ValueDate))
	if date == "" && b.Common.OccurredAt != nil {
		date = b.Common.OccurredAt.UTC().Format(time.RFC3339)
	}
	return refKey(deref(first(b.BankAccount, b.InternalAccountID)), b.Direction, amount, currency, date,
		deref(first(b.BankReference, b.EndToEndID)), b.Status)
}

func refKey(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, ":")
}

// Leg is a flow leg as normalization produces it.
type Leg struct {
	Type                string
	Status              string
	SourceStatus        string
	Identity            *string
	Provider            *string
	ProviderTransferID  *string
	TxHash              *string
	ChainFamily         *string
	ChainID             *string
	FromAddress         *string
	ToAddress           *string
	BankAccount         *string
	BankReference       *string
	EndToEndID          *string
	Direction           *string
	Amount              decimal.Decimal
	Currency            string
	DestinationAmount   *decimal.Decimal
	DestinationCurrency *string
	FxRate              *decimal.Decimal
	ProviderFee         *decimal.Decimal
	NetworkFee          *decimal.Decimal
	DeveloperFee        *decimal.Decimal
	PaymentIntentID     *uuid.UUID
	ExternalReference   *string
	ReferenceValues     []string
	OccurredAt          time.Time
}

// Normalize turns a stored raw record into its flow leg. It is pure and
// deterministic, so a replayed task normalizes to the same leg. receivedAt
// stands in for occurredAt when the evidence gives no time.
func Normalize(source string, payload []byte, receivedAt time.Time) (Leg, error) {
	var (
		l      Leg
		common Common
	)
	switch source {
	case SourceProvider:
		var p Provider
		if err := json.Unmarshal(payload, &p); err != nil {
			return l, fmt.Errorf("decode provider evidence: %w", err)
		}
		common = p.Common
		l.Type, l.SourceStatus = rule.LegProvider, p.Status
		l.Identity = ptr("provider:" + p.Provider + ":" + p.ProviderTransferID)
		l.Provider, l.ProviderTransferID = ptr(p.Provider), ptr(p.ProviderTransferID)
		setMoney(&l, p.Amount)
		if p.DestinationAmount != nil && p.DestinationAmount.Amount != nil {
			l.DestinationAmount, l.DestinationCurrency = &p.DestinationAmount.Amount.Decimal, ptr(p.DestinationAmount.Currency)
		}
		l.FxRate = dec(p.FxRate)
		if p.Fees != nil {
			l.ProviderFee, l.NetworkFee, l.DeveloperFee = dec(p.Fees.ProviderFee), dec(p.Fees.NetworkFee), dec(p.Fees.DeveloperFee)
		}
	case SourceOnchain:
		var o Onchain
		if err := json.Unmarshal(payload, &o); err != nil {
			return l, fmt.Errorf("decode onchain evidence: %w", err)
		}
		common = o.Common
		l.Type, l.SourceStatus = rule.LegOnchain, o.Status
		l.Identity, l.TxHash, l.ChainFamily = ptr("tx:"+o.transfer()), ptr(o.TxHash), ptr(o.ChainFamily)
		if o.ChainID != nil {
			l.ChainID = ptr(string(*o.ChainID))
		}
		l.FromAddress, l.ToAddress = o.FromAddress, o.ToAddress
		setMoney(&l, o.Amount)
		l.NetworkFee = dec(o.NetworkFee)
	case SourceBank:
		var b Bank
		if err := json.Unmarshal(payload, &b); err != nil {
			return l, fmt.Errorf("decode bank evidence: %w", err)
		}
		common = b.Common
		l.Type, l.SourceStatus = rule.LegBank, b.Status
		if id := first(b.BankReference, b.EndToEndID); id != nil {
			l.Identity = ptr("bank:" + *id)
		}
		l.BankAccount = first(b.BankAccount, b.InternalAccountID)
		l.BankReference, l.EndToEndID, l.Direction = b.BankReference, b.EndToEndID, ptr(b.Direction)
		setMoney(&l, b.Amount)
		if common.OccurredAt == nil {
			if d := first(b.BookingDate, b.ValueDate); d != nil {
				if t, err := time.Parse(time.DateOnly, *d); err == nil {
					common.OccurredAt = &t
				}
			}
		}
		l.ReferenceValues = appendTokens(l.ReferenceValues, deref(b.EndToEndID), deref(b.BankReference))
		if b.RemittanceInformation != nil {
			l.ReferenceValues = appendTokens(l.ReferenceValues, strings.FieldsFunc(*b.RemittanceInformation, separator)...)
		}
	default:
		return l, fmt.Errorf("unknown evidence source %q", source)
	}
	status, ok := legStatus[l.SourceStatus]
	if !ok {
		return l, fmt.Errorf("unknown %s status %q", source, l.SourceStatus)
	}
	l.Status = status
	if common.PaymentIntentID != nil {
		id, err := uuid.Parse(*common.PaymentIntentID)
		if err != nil {
			return l, fmt.Errorf("paymentIntentId: %w", err)
		}
		l.PaymentIntentID = &id
	}
	l.ExternalReference = common.ExternalReference
	for _, r := range common.References {
		l.ReferenceValues = appendTokens(l.ReferenceValues, r.Value)
	}
	l.OccurredAt = receivedAt
	if common.OccurredAt != nil {
		l.OccurredAt = *common.OccurredAt
	}
	l.OccurredAt = l.OccurredAt.UTC()
	if l.ReferenceValues == nil {
		l.ReferenceValues = []string{}
	}
	return l, nil
}

// maxTokens bounds how many reference tokens one leg carries: remittance
// text is free-form and only its first words are references in practice.
const maxTokens = 32

// appendTokens adds reference tokens worth matching on: at least 3
// characters (shorter words match far too much), each once.
func appendTokens(out []string, tokens ...string) []string {
	for _, t := range tokens {
		t = strings.TrimSpace(t)
		if len(t) < 3 || len(t) > 140 || len(out) >= maxTokens {
			continue
		}
		dup := false
		for _, o := range out {
			if o == t {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

// separator splits remittance text into words; - _ / . stay inside
// references like INV-2024/001.
func separator(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(",;:()[]{}\"'<>|", r)
}

func setMoney(l *Leg, m *Money) {
	if m != nil && m.Amount != nil {
		l.Amount, l.Currency = m.Amount.Decimal, m.Currency
	}
}

func dec(a *money.Amount) *decimal.Decimal {
	if a == nil {
		return nil
	}
	d := a.Decimal
	return &d
}

func ptr[T any](v T) *T { return &v }

func first(vs ...*string) *string {
	for _, v := range vs {
		if v != nil && *v != "" {
			return v
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
