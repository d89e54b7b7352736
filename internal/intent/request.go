package intent

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// Reference is one typed reference a payment carries.
type Reference struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Request is a payment intent as a client states it: the body of POST
// /v1/payment-intents, and a row of a client_internal_ledger import. Both
// are validated by Validate, so a file row is refused for exactly the
// reasons the API would refuse it.
type Request struct {
	ExternalReference    string         `json:"externalReference"`
	SourceAmount         *money.Amount  `json:"sourceAmount"`
	SourceCurrency       string         `json:"sourceCurrency"`
	DestinationAmount    *money.Amount  `json:"destinationAmount"`
	DestinationCurrency  string         `json:"destinationCurrency"`
	PaymentType          string         `json:"paymentType"`
	PaymentSubtype       *string        `json:"paymentSubtype"`
	Direction            string         `json:"direction"`
	Stablecoin           *string        `json:"stablecoin"`
	Chain                *string        `json:"chain"`
	BeneficiaryAccount   *string        `json:"beneficiaryAccount"`
	BeneficiaryName      *string        `json:"beneficiaryName"`
	ExpectedFxRate       *money.Amount  `json:"expectedFxRate"`
	DeveloperFeeExpected *money.Amount  `json:"developerFeeExpected"`
	ProviderTransferID   *string        `json:"providerTransferId"`
	TxHash               *string        `json:"txHash"`
	ClientCompletedAt    *time.Time     `json:"clientCompletedAt"`
	References           []Reference    `json:"references"`
	Metadata             map[string]any `json:"metadata"`
}

var chainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate adds every problem of the request to is.
func (r *Request) Validate(is *validate.Issues) {
	if r.ExternalReference == "" || validate.Chars(r.ExternalReference) > 255 {
		is.Add([]string{"externalReference"}, "Required; 1 to 255 characters.")
	}
	validate.Positive(r.SourceAmount, []string{"sourceAmount"}, true, is)
	validate.Currency(r.SourceCurrency, []string{"sourceCurrency"}, is)
	switch {
	case r.DestinationAmount == nil && r.DestinationCurrency != "":
		is.Add([]string{"destinationAmount"}, "Required with destinationCurrency.")
	case r.DestinationAmount != nil && r.DestinationCurrency == "":
		is.Add([]string{"destinationCurrency"}, "Required with destinationAmount.")
	case r.DestinationAmount != nil:
		validate.Positive(r.DestinationAmount, []string{"destinationAmount"}, true, is)
		validate.Currency(r.DestinationCurrency, []string{"destinationCurrency"}, is)
	}
	if !slices.Contains(rule.PaymentTypes, r.PaymentType) {
		is.Add([]string{"paymentType"}, "Required; one of %s.", strings.Join(rule.PaymentTypes, ", "))
	}
	if r.Direction != "" && r.Direction != "debit" && r.Direction != "credit" {
		is.Add([]string{"direction"}, "Must be debit or credit.")
	}
	validate.OptString(r.PaymentSubtype, []string{"paymentSubtype"}, 100, is)
	if r.Stablecoin != nil {
		if c, ok := money.LookupCurrency(*r.Stablecoin); !ok || c.Kind != money.Token {
			is.Add([]string{"stablecoin"}, "Must be a supported token symbol such as USDC or USDT.")
		}
	}
	if r.Chain != nil && !chainPattern.MatchString(*r.Chain) {
		is.Add([]string{"chain"}, "Must be a lower-case chain name such as ethereum, polygon or base.")
	}
	validate.OptString(r.BeneficiaryAccount, []string{"beneficiaryAccount"}, 255, is)
	validate.OptString(r.BeneficiaryName, []string{"beneficiaryName"}, 255, is)
	validate.Positive(r.ExpectedFxRate, []string{"expectedFxRate"}, false, is)
	if r.DeveloperFeeExpected != nil && r.DeveloperFeeExpected.IsNegative() {
		is.Add([]string{"developerFeeExpected"}, "Must not be negative.")
	}
	validate.OptString(r.ProviderTransferID, []string{"providerTransferId"}, 255, is)
	validate.TxHash(r.TxHash, []string{"txHash"}, is)
	if len(r.References) > 50 {
		is.Add([]string{"references"}, "At most 50 references.")
	}
	for i, ref := range r.References {
		if ref.Type == "" || validate.Chars(ref.Type) > 64 {
			is.Add([]string{"references", validate.Index(i), "type"}, "Must be 1 to 64 characters.")
		}
		if ref.Value == "" || validate.Chars(ref.Value) > 255 {
			is.Add([]string{"references", validate.Index(i), "value"}, "Must be 1 to 255 characters.")
		}
	}
	validate.Metadata(r.Metadata, is)
}

// Input is a validated request as Create takes it: the destination is the
// source unless given, the direction debit unless given.
func (r *Request) Input(org uuid.UUID, actor string) CreateInput {
	in := CreateInput{
		OrganizationID: org, Actor: actor, ExternalReference: r.ExternalReference,
		SourceAmount: r.SourceAmount.Decimal, SourceCurrency: r.SourceCurrency,
		DestinationAmount: r.SourceAmount.Decimal, DestinationCurrency: r.SourceCurrency,
		PaymentType: r.PaymentType, PaymentSubtype: r.PaymentSubtype, Direction: r.Direction,
		Stablecoin: r.Stablecoin, Chain: r.Chain, BeneficiaryAccount: r.BeneficiaryAccount,
		BeneficiaryName: r.BeneficiaryName, ExpectedFxRate: decPtr(r.ExpectedFxRate),
		DeveloperFeeExpected: decPtr(r.DeveloperFeeExpected), ProviderTransferID: r.ProviderTransferID,
		TxHash: r.TxHash, ClientCompletedAt: r.ClientCompletedAt,
	}
	if r.DestinationAmount != nil {
		in.DestinationAmount, in.DestinationCurrency = r.DestinationAmount.Decimal, r.DestinationCurrency
	}
	if in.Direction == "" {
		in.Direction = "debit"
	}
	refs := r.References
	if refs == nil {
		refs = []Reference{}
	}
	in.References, _ = json.Marshal(refs)
	for _, ref := range r.References {
		in.ReferenceValues = append(in.ReferenceValues, ref.Value)
	}
	meta := r.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	in.Metadata, _ = json.Marshal(meta)
	return in
}

func decPtr(a *money.Amount) *decimal.Decimal {
	if a == nil {
		return nil
	}
	return &a.Decimal
}
