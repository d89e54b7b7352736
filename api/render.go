package api

import (
	"encoding/json"
	"time"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/recon"
)

// Resource shapes of the ReconLayer family (seed 001). Amounts are decimal
// strings, timestamps RFC 3339 UTC; absent values are null, never omitted.

type amountJSON struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

type intentJSON struct {
	ID                 string     `json:"id"`
	OrganizationID     string     `json:"organizationId"`
	ExternalReference  string     `json:"externalReference"`
	Source             amountJSON `json:"source"`
	Destination        amountJSON `json:"destination"`
	PaymentType        string     `json:"paymentType"`
	PaymentSubtype     *string    `json:"paymentSubtype"`
	Stablecoin         *string    `json:"stablecoin"`
	Chain              *string    `json:"chain"`
	BeneficiaryAccount *string    `json:"beneficiaryAccount"`
	BeneficiaryName    *string    `json:"beneficiaryName"`
	Status             string     `json:"status"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
}

func renderIntent(pi db.PaymentIntent) intentJSON {
	return intentJSON{
		ID: pi.ID.String(), OrganizationID: pi.OrganizationID.String(), ExternalReference: pi.ExternalReference,
		Source:      amountJSON{pi.SourceAmount.String(), pi.SourceCurrency},
		Destination: amountJSON{pi.DestinationAmount.String(), pi.DestinationCurrency},
		PaymentType: pi.PaymentType, PaymentSubtype: pi.PaymentSubtype, Stablecoin: pi.Stablecoin, Chain: pi.Chain,
		BeneficiaryAccount: pi.BeneficiaryAccount, BeneficiaryName: pi.BeneficiaryName, Status: pi.Status,
		CreatedAt: pi.CreatedAt.UTC(), UpdatedAt: pi.UpdatedAt.UTC(),
	}
}

type auditEventJSON struct {
	ID              string          `json:"id"`
	OrganizationID  string          `json:"organizationId"`
	PaymentIntentID *string         `json:"paymentIntentId"`
	CaseID          *string         `json:"caseId"`
	RawRecordID     *string         `json:"rawRecordId"`
	ImportBatchID   *string         `json:"importBatchId"`
	EventType       string          `json:"eventType"`
	Actor           string          `json:"actor"`
	Payload         json.RawMessage `json:"payload"`
	Message         string          `json:"message"`
	OccurredAt      time.Time       `json:"occurredAt"`
}

func renderAudit(e db.AuditEvent) auditEventJSON {
	payload := json.RawMessage(e.Payload)
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return auditEventJSON{
		ID: e.ID.String(), OrganizationID: e.OrganizationID.String(), PaymentIntentID: uuidStr(e.PaymentIntentID),
		CaseID: uuidStr(e.CaseID), RawRecordID: uuidStr(e.RawRecordID), ImportBatchID: uuidStr(e.ImportBatchID),
		EventType: e.EventType, Actor: e.Actor, Payload: payload, Message: e.Message, OccurredAt: e.OccurredAt.UTC(),
	}
}

// mapSlice renders every element of a slice (an empty slice for none, so
// that lists encode as [] and not null).
func mapSlice[T, R any](in []T, f func(T) R) []R {
	out := make([]R, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// flowLegJSON is an evidence leg on a case (seed 001).
type flowLegJSON struct {
	ID                 string  `json:"id"`
	Type               string  `json:"type"`
	Status             string  `json:"status"`
	Provider           *string `json:"provider"`
	ProviderTransferID *string `json:"providerTransferId"`
	TxHash             *string `json:"txHash"`
	Amount             string  `json:"amount"`
	Currency           string  `json:"currency"`
	// Beyond seed 001: where the leg came from and what else it reported.
	RawRecordID       string      `json:"rawRecordId"`
	CaseID            *string     `json:"caseId"`
	SourceStatus      string      `json:"sourceStatus"`
	DestinationAmount *amountJSON `json:"destinationAmount"`
	FxRate            *string     `json:"fxRate"`
	ProviderFee       *string     `json:"providerFee"`
	NetworkFee        *string     `json:"networkFee"`
	DeveloperFee      *string     `json:"developerFee"`
	ChainID           *string     `json:"chainId"`
	BankReference     *string     `json:"bankReference"`
	EndToEndID        *string     `json:"endToEndId"`
	ExternalReference *string     `json:"externalReference"`
	OccurredAt        time.Time   `json:"occurredAt"`
	CreatedAt         time.Time   `json:"createdAt"`
}

func renderLeg(l db.FlowLeg) flowLegJSON {
	out := flowLegJSON{
		ID: l.ID.String(), Type: l.Type, Status: l.Status, Provider: l.Provider, ProviderTransferID: l.ProviderTransferID,
		TxHash: l.TxHash, Amount: l.Amount.String(), Currency: l.Currency, RawRecordID: l.RawRecordID.String(),
		CaseID: uuidStr(l.CaseID), SourceStatus: l.SourceStatus, FxRate: decStr(l.FxRate), ProviderFee: decStr(l.ProviderFee),
		NetworkFee: decStr(l.NetworkFee), DeveloperFee: decStr(l.DeveloperFee), ChainID: l.ChainID,
		BankReference: l.BankReference, EndToEndID: l.EndToEndID, ExternalReference: l.ExternalReference,
		OccurredAt: l.OccurredAt.UTC(), CreatedAt: l.CreatedAt.UTC(),
	}
	if d := decStr(l.DestinationAmount); d != nil && l.DestinationCurrency != nil {
		out.DestinationAmount = &amountJSON{*d, *l.DestinationCurrency}
	}
	return out
}

// matchLinkJSON explains why a leg belongs (or may belong) to a case.
type matchLinkJSON struct {
	ID          string     `json:"id"`
	CaseID      string     `json:"caseId"`
	FlowLegID   string     `json:"flowLegId"`
	RawRecordID string     `json:"rawRecordId"`
	Status      string     `json:"status"`
	Strategy    string     `json:"strategy"`
	Score       string     `json:"score"`
	Reason      string     `json:"reason"`
	CreatedBy   string     `json:"createdBy"`
	CreatedAt   time.Time  `json:"createdAt"`
	EndedAt     *time.Time `json:"endedAt"`
	EndedBy     *string    `json:"endedBy"`
}

func renderLink(l db.MatchLink) matchLinkJSON {
	return matchLinkJSON{
		ID: l.ID.String(), CaseID: l.CaseID.String(), FlowLegID: l.FlowLegID.String(), RawRecordID: l.RawRecordID.String(),
		Status: l.Status, Strategy: l.Strategy, Score: l.Score.String(), Reason: l.Reason, CreatedBy: l.CreatedBy,
		CreatedAt: l.CreatedAt.UTC(), EndedAt: utcPtr(l.EndedAt), EndedBy: l.EndedBy,
	}
}

// rawRecordJSON is evidence as it was received.
type rawRecordJSON struct {
	ID             string          `json:"id"`
	Source         string          `json:"source"`
	SourceRef      string          `json:"sourceRef"`
	MatchStatus    string          `json:"matchStatus"`
	SignatureValid *bool           `json:"signatureValid"`
	ImportBatchID  *string         `json:"importBatchId"`
	RowNumber      *int32          `json:"rowNumber"`
	Payload        json.RawMessage `json:"payload"`
	ReceivedAt     time.Time       `json:"receivedAt"`
	ProcessedAt    *time.Time      `json:"processedAt"`
}

func renderRawRecord(r db.RawRecord) rawRecordJSON {
	return rawRecordJSON{
		ID: r.ID.String(), Source: r.Source, SourceRef: r.SourceRef, MatchStatus: r.MatchStatus,
		SignatureValid: r.SignatureValid, ImportBatchID: uuidStr(r.ImportBatchID), RowNumber: r.RowNumber,
		Payload: r.Payload, ReceivedAt: r.ReceivedAt.UTC(), ProcessedAt: utcPtr(r.ProcessedAt),
	}
}

type caseJSON struct {
	ID                  string           `json:"id"`
	OrganizationID      string           `json:"organizationId"`
	PaymentIntentID     string           `json:"paymentIntentId"`
	ExpectedAmount      string           `json:"expectedAmount"`
	ActualAmount        *string          `json:"actualAmount"`
	ExceptionType       *string          `json:"exceptionType"`
	CreatedAt           time.Time        `json:"createdAt"`
	UpdatedAt           time.Time        `json:"updatedAt"`
	PaymentIntent       intentJSON       `json:"paymentIntent"`
	Verdict             *string          `json:"verdict"`
	UnexplainedDelta    *string          `json:"unexplainedDelta"`
	SLAAgeMinutes       int32            `json:"slaAgeMinutes"`
	SLARisk             bool             `json:"slaRisk"`
	RequiredLegsTotal   int32            `json:"requiredLegsTotal"`
	RequiredLegsPresent int32            `json:"requiredLegsPresent"`
	EvidenceCoverage    recon.Coverage   `json:"evidenceCoverage"`
	FlowLegs            []flowLegJSON    `json:"flowLegs"`
	ProviderFee         *string          `json:"providerFee"`
	NetworkFee          *string          `json:"networkFee"`
	DeveloperFee        *string          `json:"developerFee"`
	FxSpread            *string          `json:"fxSpread"`
	RoundingDelta       *string          `json:"roundingDelta"`
	Notes               *string          `json:"notes"`
	ReconciledAt        *time.Time       `json:"reconciledAt"`
	LastRunAt           *time.Time       `json:"lastRunAt"`
	AuditEvents         []auditEventJSON `json:"auditEvents"`
	// Beyond seed 001: lifecycle, currency, rule and ordering.
	Status               string     `json:"status"`
	ReconciliationStatus string     `json:"reconciliationStatus"`
	ExpectedCurrency     string     `json:"expectedCurrency"`
	RuleID               *string    `json:"ruleId"`
	Version              int64      `json:"version"`
	ResolvedAt           *time.Time `json:"resolvedAt"`
}

func renderCase(c db.ReconciliationCase, pi db.PaymentIntent, slaAge int32, events []db.AuditEvent, legs []db.FlowLeg) caseJSON {
	return caseJSON{
		ID: c.ID.String(), OrganizationID: c.OrganizationID.String(), PaymentIntentID: c.PaymentIntentID.String(),
		ExpectedAmount: c.ExpectedAmount.String(), ActualAmount: decStr(c.ActualAmount), ExceptionType: c.ExceptionType,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(), PaymentIntent: renderIntent(pi),
		Verdict: c.Verdict, UnexplainedDelta: decStr(c.UnexplainedDelta), SLAAgeMinutes: slaAge, SLARisk: c.SlaRisk,
		RequiredLegsTotal: c.RequiredLegsTotal, RequiredLegsPresent: c.RequiredLegsPresent,
		EvidenceCoverage: coverageOf(c), FlowLegs: mapSlice(legs, renderLeg),
		ProviderFee: decStr(c.ProviderFee), NetworkFee: decStr(c.NetworkFee), DeveloperFee: decStr(c.DeveloperFee),
		FxSpread: decStr(c.FxSpread), RoundingDelta: decStr(c.RoundingDelta), Notes: c.Notes,
		ReconciledAt: utcPtr(c.ReconciledAt), LastRunAt: utcPtr(c.LastRunAt), AuditEvents: mapSlice(events, renderAudit),
		Status: c.Status, ReconciliationStatus: c.ReconciliationStatus, ExpectedCurrency: c.ExpectedCurrency,
		RuleID: uuidStr(c.RuleID), Version: c.Version, ResolvedAt: utcPtr(c.ResolvedAt),
	}
}

func decStr(n numeric.Null) *string {
	d := n.Dec()
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

func coverageOf(c db.ReconciliationCase) recon.Coverage {
	return recon.Coverage{Expected: recon.CoveragePresent, Provider: c.CoverageProvider, Chain: c.CoverageChain,
		Bank: c.CoverageBank, File: c.CoverageFile}
}
