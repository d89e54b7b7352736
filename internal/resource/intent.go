package resource

import (
	"encoding/json"
	"time"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Intent is the payment intent resource (seed 001).
type Intent struct {
	ID                 string    `json:"id"`
	OrganizationID     string    `json:"organizationId"`
	ExternalReference  string    `json:"externalReference"`
	Source             Amount    `json:"source"`
	Destination        Amount    `json:"destination"`
	PaymentType        string    `json:"paymentType"`
	PaymentSubtype     *string   `json:"paymentSubtype"`
	Stablecoin         *string   `json:"stablecoin"`
	Chain              *string   `json:"chain"`
	BeneficiaryAccount *string   `json:"beneficiaryAccount"`
	BeneficiaryName    *string   `json:"beneficiaryName"`
	Status             string    `json:"status"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// RenderIntent renders pi as seed 001 shapes it.
func RenderIntent(pi db.PaymentIntent) Intent {
	return Intent{
		ID: pi.ID.String(), OrganizationID: pi.OrganizationID.String(), ExternalReference: pi.ExternalReference,
		Source:      Amount{pi.SourceAmount.String(), pi.SourceCurrency},
		Destination: Amount{pi.DestinationAmount.String(), pi.DestinationCurrency},
		PaymentType: pi.PaymentType, PaymentSubtype: pi.PaymentSubtype, Stablecoin: pi.Stablecoin, Chain: pi.Chain,
		BeneficiaryAccount: pi.BeneficiaryAccount, BeneficiaryName: pi.BeneficiaryName, Status: pi.Status,
		CreatedAt: pi.CreatedAt.UTC(), UpdatedAt: pi.UpdatedAt.UTC(),
	}
}

// IntentFull is an intent with every field it was created with (list items).
type IntentFull struct {
	Intent
	Direction            string          `json:"direction"`
	ExpectedFxRate       *string         `json:"expectedFxRate"`
	DeveloperFeeExpected *string         `json:"developerFeeExpected"`
	ProviderTransferID   *string         `json:"providerTransferId"`
	TxHash               *string         `json:"txHash"`
	ClientCompletedAt    *time.Time      `json:"clientCompletedAt"`
	References           json.RawMessage `json:"references"`
	Metadata             json.RawMessage `json:"metadata"`
}

// RenderIntentFull renders pi with every field it was created with.
func RenderIntentFull(pi db.PaymentIntent) IntentFull {
	return IntentFull{
		Intent: RenderIntent(pi), Direction: pi.Direction, ExpectedFxRate: DecStr(pi.ExpectedFxRate),
		DeveloperFeeExpected: DecStr(pi.DeveloperFeeExpected), ProviderTransferID: pi.ProviderTransferID,
		TxHash: pi.TxHash, ClientCompletedAt: UTCPtr(pi.ClientCompletedAt), References: pi.References, Metadata: pi.Metadata,
	}
}

// IntentDetail is GET /v1/payment-intents/{id}: the intent, its case
// summary and its audit trail.
type IntentDetail struct {
	IntentFull
	Case        CaseSummary  `json:"case"`
	AuditEvents []AuditEvent `json:"auditEvents"`
}

// CaseSummary is the case of an intent, as its detail shows it.
type CaseSummary struct {
	ID                   string  `json:"id"`
	Status               string  `json:"status"`
	ReconciliationStatus string  `json:"reconciliationStatus"`
	Verdict              *string `json:"verdict"`
	ExceptionType        *string `json:"exceptionType"`
	SLARisk              bool    `json:"slaRisk"`
}

// RenderIntentDetail renders pi with a summary of its case c and its audit trail.
func RenderIntentDetail(pi db.PaymentIntent, c db.ReconciliationCase, audit []db.AuditEvent) IntentDetail {
	return IntentDetail{
		IntentFull: RenderIntentFull(pi),
		Case: CaseSummary{
			ID: c.ID.String(), Status: c.Status, ReconciliationStatus: c.ReconciliationStatus,
			Verdict: c.Verdict, ExceptionType: c.ExceptionType, SLARisk: c.SlaRisk,
		},
		AuditEvents: MapSlice(audit, RenderAudit),
	}
}
