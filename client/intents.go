package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Money is an amount as a decimal string ("100.25", never a float) in a
// currency or token. Parse it with shopspring/decimal to compute with it.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Reference is an extra reference of an intent or evidence (invoice, order…).
type Reference struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// CreatePaymentIntentParams says what should happen: the canonical record
// evidence is reconciled against. Empty optional fields are left out.
type CreatePaymentIntentParams struct {
	ExternalReference string `json:"externalReference"`
	SourceAmount      string `json:"sourceAmount"`
	SourceCurrency    string `json:"sourceCurrency"`
	// DestinationAmount and DestinationCurrency default to the source's.
	DestinationAmount   string `json:"destinationAmount,omitempty"`
	DestinationCurrency string `json:"destinationCurrency,omitempty"`
	// PaymentType is stablecoin, bank, cross_border or other.
	PaymentType          string         `json:"paymentType"`
	PaymentSubtype       string         `json:"paymentSubtype,omitempty"`
	Direction            string         `json:"direction,omitempty"` // debit or credit
	Stablecoin           string         `json:"stablecoin,omitempty"`
	Chain                string         `json:"chain,omitempty"`
	BeneficiaryAccount   string         `json:"beneficiaryAccount,omitempty"`
	BeneficiaryName      string         `json:"beneficiaryName,omitempty"`
	ExpectedFxRate       string         `json:"expectedFxRate,omitempty"`
	DeveloperFeeExpected string         `json:"developerFeeExpected,omitempty"`
	ProviderTransferID   string         `json:"providerTransferId,omitempty"`
	TxHash               string         `json:"txHash,omitempty"`
	ClientCompletedAt    *time.Time     `json:"clientCompletedAt,omitempty"`
	References           []Reference    `json:"references,omitempty"`
	Metadata             map[string]any `json:"metadata,omitempty"`
}

// PaymentIntentCreated is the answer to CreatePaymentIntent. Outcome is
// "created", or "reused" when an intent with the same externalReference and
// the same canonical fields existed (a different one is a 409
// payment_intent_conflict).
type PaymentIntentCreated struct {
	PaymentIntentID   string  `json:"paymentIntentId"`
	CaseID            string  `json:"caseId"`
	ExternalReference string  `json:"externalReference"`
	Status            string  `json:"status"`
	Verdict           *string `json:"verdict"`
	Outcome           string  `json:"outcome"`
}

// PaymentIntent is an intent as a case shows it.
type PaymentIntent struct {
	ID                 string    `json:"id"`
	OrganizationID     string    `json:"organizationId"`
	ExternalReference  string    `json:"externalReference"`
	Source             Money     `json:"source"`
	Destination        Money     `json:"destination"`
	PaymentType        string    `json:"paymentType"`
	PaymentSubtype     *string   `json:"paymentSubtype"`
	Status             string    `json:"status"`
	Stablecoin         *string   `json:"stablecoin"`
	Chain              *string   `json:"chain"`
	BeneficiaryAccount *string   `json:"beneficiaryAccount"`
	BeneficiaryName    *string   `json:"beneficiaryName"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// PaymentIntentDetail is an intent with every field, its case's state and
// (on GetPaymentIntent) its audit trail.
type PaymentIntentDetail struct {
	PaymentIntent
	Direction            string         `json:"direction"`
	ExpectedFxRate       *string        `json:"expectedFxRate"`
	DeveloperFeeExpected *string        `json:"developerFeeExpected"`
	ProviderTransferID   *string        `json:"providerTransferId"`
	TxHash               *string        `json:"txHash"`
	ClientCompletedAt    *time.Time     `json:"clientCompletedAt"`
	References           []Reference    `json:"references"`
	Metadata             map[string]any `json:"metadata"`
	Case                 *CaseSummary   `json:"case,omitempty"`
	AuditEvents          []AuditEvent   `json:"auditEvents,omitempty"`
}

// CaseSummary is the state of an intent's reconciliation case.
type CaseSummary struct {
	ID                   string  `json:"id"`
	Status               string  `json:"status"`
	ReconciliationStatus string  `json:"reconciliationStatus"`
	Verdict              *string `json:"verdict"`
	ExceptionType        *string `json:"exceptionType"`
	SLARisk              bool    `json:"slaRisk"`
}

// AuditEvent is one entry of the append-only audit trail.
type AuditEvent struct {
	ID              string          `json:"id"`
	OrganizationID  string          `json:"organizationId"`
	EventType       string          `json:"eventType"`
	Actor           string          `json:"actor"`
	Message         string          `json:"message"`
	PaymentIntentID *string         `json:"paymentIntentId"`
	CaseID          *string         `json:"caseId"`
	RawRecordID     *string         `json:"rawRecordId"`
	ImportBatchID   *string         `json:"importBatchId"`
	Payload         json.RawMessage `json:"payload"`
	OccurredAt      time.Time       `json:"occurredAt"`
}

// ListPaymentIntentsParams filters intents; From and To bound createdAt
// (RFC 3339 or a date).
type ListPaymentIntentsParams struct {
	ListParams
	Status            string `query:"status"`
	ExternalReference string `query:"externalReference"`
	From              string `query:"from"`
	To                string `query:"to"`
}

var (
	routeCreatePaymentIntent = newRoute[none, CreatePaymentIntentParams, PaymentIntentCreated](http.MethodPost, "/v1/payment-intents")
	routeGetPaymentIntent    = newRoute[none, none, PaymentIntentDetail](http.MethodGet, "/v1/payment-intents/{id}")
	routeListPaymentIntents  = newRoute[ListPaymentIntentsParams, none, Page[PaymentIntentDetail]](http.MethodGet, "/v1/payment-intents")
)

// CreatePaymentIntent records what should happen, with its reconciliation
// case, in one transaction.
func (c *Client) CreatePaymentIntent(ctx context.Context, p CreatePaymentIntentParams, opts ...RequestOption) (*PaymentIntentCreated, error) {
	out, _, err := routeCreatePaymentIntent.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// GetPaymentIntent reads an intent with its case and audit trail.
func (c *Client) GetPaymentIntent(ctx context.Context, id string, opts ...RequestOption) (*PaymentIntentDetail, error) {
	out, _, err := routeGetPaymentIntent.call(ctx, c, []string{id}, none{}, none{}, opts)
	return out, err
}

// ListPaymentIntents lists intents, newest first.
func (c *Client) ListPaymentIntents(ctx context.Context, p ListPaymentIntentsParams, opts ...RequestOption) (*Page[PaymentIntentDetail], error) {
	out, _, err := routeListPaymentIntents.call(ctx, c, nil, p, none{}, opts)
	return out, err
}
