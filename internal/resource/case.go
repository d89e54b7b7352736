package resource

import (
	"encoding/json"
	"time"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/recon"
)

// AuditEvent is one entry of an audit trail.
type AuditEvent struct {
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

// RenderAudit renders e; an empty payload is null.
func RenderAudit(e db.AuditEvent) AuditEvent {
	payload := json.RawMessage(e.Payload)
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return AuditEvent{
		ID: e.ID.String(), OrganizationID: e.OrganizationID.String(), PaymentIntentID: UUIDStr(e.PaymentIntentID),
		CaseID: UUIDStr(e.CaseID), RawRecordID: UUIDStr(e.RawRecordID), ImportBatchID: UUIDStr(e.ImportBatchID),
		EventType: e.EventType, Actor: e.Actor, Payload: payload, Message: e.Message, OccurredAt: e.OccurredAt.UTC(),
	}
}

// FlowLeg is an evidence leg on a case (seed 001).
type FlowLeg struct {
	ID                 string  `json:"id"`
	Type               string  `json:"type"`
	Status             string  `json:"status"`
	Provider           *string `json:"provider"`
	ProviderTransferID *string `json:"providerTransferId"`
	TxHash             *string `json:"txHash"`
	Amount             string  `json:"amount"`
	Currency           string  `json:"currency"`
	// Beyond seed 001: where the leg came from and what else it reported.
	RawRecordID       string    `json:"rawRecordId"`
	CaseID            *string   `json:"caseId"`
	SourceStatus      string    `json:"sourceStatus"`
	DestinationAmount *Amount   `json:"destinationAmount"`
	FxRate            *string   `json:"fxRate"`
	ProviderFee       *string   `json:"providerFee"`
	NetworkFee        *string   `json:"networkFee"`
	DeveloperFee      *string   `json:"developerFee"`
	ChainID           *string   `json:"chainId"`
	BankReference     *string   `json:"bankReference"`
	EndToEndID        *string   `json:"endToEndId"`
	ExternalReference *string   `json:"externalReference"`
	OccurredAt        time.Time `json:"occurredAt"`
	CreatedAt         time.Time `json:"createdAt"`
}

// RenderLeg renders l; its destination amount is null unless both amount
// and currency are known.
func RenderLeg(l db.FlowLeg) FlowLeg {
	out := FlowLeg{
		ID: l.ID.String(), Type: l.Type, Status: l.Status, Provider: l.Provider, ProviderTransferID: l.ProviderTransferID,
		TxHash: l.TxHash, Amount: l.Amount.String(), Currency: l.Currency, RawRecordID: l.RawRecordID.String(),
		CaseID: UUIDStr(l.CaseID), SourceStatus: l.SourceStatus, FxRate: DecStr(l.FxRate), ProviderFee: DecStr(l.ProviderFee),
		NetworkFee: DecStr(l.NetworkFee), DeveloperFee: DecStr(l.DeveloperFee), ChainID: l.ChainID,
		BankReference: l.BankReference, EndToEndID: l.EndToEndID, ExternalReference: l.ExternalReference,
		OccurredAt: l.OccurredAt.UTC(), CreatedAt: l.CreatedAt.UTC(),
	}
	if d := DecStr(l.DestinationAmount); d != nil && l.DestinationCurrency != nil {
		out.DestinationAmount = &Amount{*d, *l.DestinationCurrency}
	}
	return out
}

// MatchLink explains why a leg belongs (or may belong) to a case.
type MatchLink struct {
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

// RenderLink renders l.
func RenderLink(l db.MatchLink) MatchLink {
	return MatchLink{
		ID: l.ID.String(), CaseID: l.CaseID.String(), FlowLegID: l.FlowLegID.String(), RawRecordID: l.RawRecordID.String(),
		Status: l.Status, Strategy: l.Strategy, Score: l.Score.String(), Reason: l.Reason, CreatedBy: l.CreatedBy,
		CreatedAt: l.CreatedAt.UTC(), EndedAt: UTCPtr(l.EndedAt), EndedBy: l.EndedBy,
	}
}

// RawRecord is evidence as it was received.
type RawRecord struct {
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

// RenderRawRecord renders r with its payload as received.
func RenderRawRecord(r db.RawRecord) RawRecord {
	return RawRecord{
		ID: r.ID.String(), Source: r.Source, SourceRef: r.SourceRef, MatchStatus: r.MatchStatus,
		SignatureValid: r.SignatureValid, ImportBatchID: UUIDStr(r.ImportBatchID), RowNumber: r.RowNumber,
		Payload: r.Payload, ReceivedAt: r.ReceivedAt.UTC(), ProcessedAt: UTCPtr(r.ProcessedAt),
	}
}

// Case is the reconciliation case resource (seed 001): the case with its
// intent, evidence legs and audit trail.
type Case struct {
	ID                  string         `json:"id"`
	OrganizationID      string         `json:"organizationId"`
	PaymentIntentID     string         `json:"paymentIntentId"`
	ExpectedAmount      string         `json:"expectedAmount"`
	ActualAmount        *string        `json:"actualAmount"`
	ExceptionType       *string        `json:"exceptionType"`
	CreatedAt           time.Time      `json:"createdAt"`
	UpdatedAt           time.Time      `json:"updatedAt"`
	PaymentIntent       Intent         `json:"paymentIntent"`
	Verdict             *string        `json:"verdict"`
	UnexplainedDelta    *string        `json:"unexplainedDelta"`
	SLAAgeMinutes       int32          `json:"slaAgeMinutes"`
	SLARisk             bool           `json:"slaRisk"`
	RequiredLegsTotal   int32          `json:"requiredLegsTotal"`
	RequiredLegsPresent int32          `json:"requiredLegsPresent"`
	EvidenceCoverage    recon.Coverage `json:"evidenceCoverage"`
	FlowLegs            []FlowLeg      `json:"flowLegs"`
	ProviderFee         *string        `json:"providerFee"`
	NetworkFee          *string        `json:"networkFee"`
	DeveloperFee        *string        `json:"developerFee"`
	FxSpread            *string        `json:"fxSpread"`
	RoundingDelta       *string        `json:"roundingDelta"`
	Notes               *string        `json:"notes"`
	ReconciledAt        *time.Time     `json:"reconciledAt"`
	LastRunAt           *time.Time     `json:"lastRunAt"`
	AuditEvents         []AuditEvent   `json:"auditEvents"`
	// Beyond seed 001: lifecycle, currency, rule and ordering.
	Status               string     `json:"status"`
	ReconciliationStatus string     `json:"reconciliationStatus"`
	ExpectedCurrency     string     `json:"expectedCurrency"`
	RuleID               *string    `json:"ruleId"`
	Version              int64      `json:"version"`
	ResolvedAt           *time.Time `json:"resolvedAt"`
}

// RenderCase renders c with its intent pi, its SLA age in minutes, its audit
// events and its evidence legs.
func RenderCase(c db.ReconciliationCase, pi db.PaymentIntent, slaAge int32, events []db.AuditEvent, legs []db.FlowLeg) Case {
	return Case{
		ID: c.ID.String(), OrganizationID: c.OrganizationID.String(), PaymentIntentID: c.PaymentIntentID.String(),
		ExpectedAmount: c.ExpectedAmount.String(), ActualAmount: DecStr(c.ActualAmount), ExceptionType: c.ExceptionType,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(), PaymentIntent: RenderIntent(pi),
		Verdict: c.Verdict, UnexplainedDelta: DecStr(c.UnexplainedDelta), SLAAgeMinutes: slaAge, SLARisk: c.SlaRisk,
		RequiredLegsTotal: c.RequiredLegsTotal, RequiredLegsPresent: c.RequiredLegsPresent,
		EvidenceCoverage: CoverageOf(c), FlowLegs: MapSlice(legs, RenderLeg),
		ProviderFee: DecStr(c.ProviderFee), NetworkFee: DecStr(c.NetworkFee), DeveloperFee: DecStr(c.DeveloperFee),
		FxSpread: DecStr(c.FxSpread), RoundingDelta: DecStr(c.RoundingDelta), Notes: c.Notes,
		ReconciledAt: UTCPtr(c.ReconciledAt), LastRunAt: UTCPtr(c.LastRunAt), AuditEvents: MapSlice(events, RenderAudit),
		Status: c.Status, ReconciliationStatus: c.ReconciliationStatus, ExpectedCurrency: c.ExpectedCurrency,
		RuleID: UUIDStr(c.RuleID), Version: c.Version, ResolvedAt: UTCPtr(c.ResolvedAt),
	}
}

// CaseOf renders a case bundle as read by package cases.
func CaseOf(b cases.Bundle) Case {
	return RenderCase(b.Row.ReconciliationCase, b.Row.PaymentIntent, b.Row.SlaAgeMinutes, b.Audit, b.Legs)
}

// CoverageOf is the evidence coverage stored on c (as recon.CoverageOf
// evaluated it); the intent itself is the expected evidence, always present.
func CoverageOf(c db.ReconciliationCase) recon.Coverage {
	return recon.Coverage{Expected: recon.CoveragePresent, Provider: c.CoverageProvider, Chain: c.CoverageChain,
		Bank: c.CoverageBank, File: c.CoverageFile}
}
