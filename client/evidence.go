package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ProviderEvidence is a payment provider's report of a transfer. Empty
// optional fields are left out.
type ProviderEvidence struct {
	Provider           string `json:"provider"`
	ProviderTransferID string `json:"providerTransferId"`
	// Status is pending, completed, failed, reversed or returned.
	Status            string        `json:"status"`
	Amount            Money         `json:"amount"`
	DestinationAmount *Money        `json:"destinationAmount,omitempty"`
	FxRate            string        `json:"fxRate,omitempty"`
	Fees              *EvidenceFees `json:"fees,omitempty"`
	PaymentIntentID   string        `json:"paymentIntentId,omitempty"`
	ExternalReference string        `json:"externalReference,omitempty"`
	// SourceRef dedupes evidence; the server derives one when empty.
	SourceRef  string          `json:"sourceRef,omitempty"`
	OccurredAt *time.Time      `json:"occurredAt,omitempty"`
	References []Reference     `json:"references,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// EvidenceFees are the fees a provider reports, as decimal strings.
type EvidenceFees struct {
	ProviderFee  string `json:"providerFee,omitempty"`
	NetworkFee   string `json:"networkFee,omitempty"`
	DeveloperFee string `json:"developerFee,omitempty"`
}

// OnchainEvidence is a transfer observed on a blockchain.
type OnchainEvidence struct {
	ChainFamily string `json:"chainFamily"` // evm or solana
	// ChainID is the chain within the family ("1", "8453"…).
	ChainID string `json:"chainId,omitempty"`
	TxHash  string `json:"txHash"`
	// Status is pending, confirmed, failed, reversed or missing.
	Status            string          `json:"status"`
	Amount            Money           `json:"amount"`
	FromAddress       string          `json:"fromAddress,omitempty"`
	ToAddress         string          `json:"toAddress,omitempty"`
	TokenAddress      string          `json:"tokenAddress,omitempty"`
	NetworkFee        string          `json:"networkFee,omitempty"`
	PaymentIntentID   string          `json:"paymentIntentId,omitempty"`
	ExternalReference string          `json:"externalReference,omitempty"`
	SourceRef         string          `json:"sourceRef,omitempty"`
	OccurredAt        *time.Time      `json:"occurredAt,omitempty"`
	References        []Reference     `json:"references,omitempty"`
	Payload           json.RawMessage `json:"payload,omitempty"`
}

// BankEvidence is a bank statement line. It needs one of SourceRef,
// BankReference or EndToEndID; dates are YYYY-MM-DD.
type BankEvidence struct {
	InternalAccountID     string          `json:"internalAccountId,omitempty"`
	BankAccount           string          `json:"bankAccount,omitempty"`
	Direction             string          `json:"direction"` // credit or debit
	Amount                Money           `json:"amount"`
	Status                string          `json:"status"` // pending or booked
	BookingDate           string          `json:"bookingDate,omitempty"`
	ValueDate             string          `json:"valueDate,omitempty"`
	BankReference         string          `json:"bankReference,omitempty"`
	EndToEndID            string          `json:"endToEndId,omitempty"`
	RemittanceInformation string          `json:"remittanceInformation,omitempty"`
	CounterpartyName      string          `json:"counterpartyName,omitempty"`
	PaymentIntentID       string          `json:"paymentIntentId,omitempty"`
	ExternalReference     string          `json:"externalReference,omitempty"`
	SourceRef             string          `json:"sourceRef,omitempty"`
	OccurredAt            *time.Time      `json:"occurredAt,omitempty"`
	References            []Reference     `json:"references,omitempty"`
	Payload               json.RawMessage `json:"payload,omitempty"`
}

// EvidenceReceipt is what became of submitted evidence: matched (201, with
// the cases), still queued (202: poll StatusURL with GetEvidence), or a
// duplicate of earlier evidence (200, Duplicate, the original's ids).
type EvidenceReceipt struct {
	Accepted       bool      `json:"accepted"`
	Duplicate      bool      `json:"duplicate"`
	RawRecordID    string    `json:"rawRecordId"`
	Source         string    `json:"source"`
	SourceRef      string    `json:"sourceRef"`
	FlowLegIDs     []string  `json:"flowLegIds"`
	MatchedCaseIDs []string  `json:"matchedCaseIds"`
	SignatureValid *bool     `json:"signatureValid"`
	Status         string    `json:"status"` // queued, matched, unmatched or ambiguous
	StatusURL      string    `json:"statusUrl"`
	ReceivedAt     time.Time `json:"receivedAt"`
}

// Evidence is stored evidence: its receipt and the body as submitted.
type Evidence struct {
	EvidenceReceipt
	Payload json.RawMessage `json:"payload"`
}

var (
	routeSubmitProviderEvidence = newRoute[none, ProviderEvidence, EvidenceReceipt](http.MethodPost, "/v1/evidence/provider")
	routeSubmitOnchainEvidence  = newRoute[none, OnchainEvidence, EvidenceReceipt](http.MethodPost, "/v1/evidence/onchain")
	routeSubmitBankEvidence     = newRoute[none, BankEvidence, EvidenceReceipt](http.MethodPost, "/v1/evidence/bank")
	routeGetEvidence            = newRoute[none, none, Evidence](http.MethodGet, "/v1/evidence/{id}")
)

// SubmitProviderEvidence submits a provider's report. By default the server
// waits a short time for the matcher's outcome; PreferAsync or PreferWait
// change that.
func (c *Client) SubmitProviderEvidence(ctx context.Context, e ProviderEvidence, opts ...RequestOption) (*EvidenceReceipt, error) {
	out, _, err := routeSubmitProviderEvidence.call(ctx, c, nil, none{}, e, opts)
	return out, err
}

// SubmitOnchainEvidence submits an on-chain transfer (see SubmitProviderEvidence).
func (c *Client) SubmitOnchainEvidence(ctx context.Context, e OnchainEvidence, opts ...RequestOption) (*EvidenceReceipt, error) {
	out, _, err := routeSubmitOnchainEvidence.call(ctx, c, nil, none{}, e, opts)
	return out, err
}

// SubmitBankEvidence submits a bank statement line (see SubmitProviderEvidence).
func (c *Client) SubmitBankEvidence(ctx context.Context, e BankEvidence, opts ...RequestOption) (*EvidenceReceipt, error) {
	out, _, err := routeSubmitBankEvidence.call(ctx, c, nil, none{}, e, opts)
	return out, err
}

// GetEvidence reads stored evidence by its rawRecordId: where a 202 said to poll.
func (c *Client) GetEvidence(ctx context.Context, rawRecordID string, opts ...RequestOption) (*Evidence, error) {
	out, _, err := routeGetEvidence.call(ctx, c, []string{rawRecordID}, none{}, none{}, opts)
	return out, err
}
