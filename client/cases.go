package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// ReconciliationCase is the reconciliation of one payment intent: verdict,
// explained and unexplained differences, evidence legs and audit trail.
// Amounts are decimal strings; absent values are nil.
type ReconciliationCase struct {
	ID              string  `json:"id"`
	OrganizationID  string  `json:"organizationId"`
	PaymentIntentID string  `json:"paymentIntentId"`
	RuleID          *string `json:"ruleId"`
	// Status is open, resolved or archived.
	Status string `json:"status"`
	// ReconciliationStatus is reconciled, tentatively_reconciled or unreconciled.
	ReconciliationStatus string `json:"reconciliationStatus"`
	// Verdict is nil until evidence arrives, then matched,
	// matched_with_exception, needs_review, unreconciled, delayed or sla_risk.
	Verdict             *string          `json:"verdict"`
	ExceptionType       *string          `json:"exceptionType"`
	ExpectedAmount      string           `json:"expectedAmount"`
	ExpectedCurrency    string           `json:"expectedCurrency"`
	ActualAmount        *string          `json:"actualAmount"`
	ProviderFee         *string          `json:"providerFee"`
	NetworkFee          *string          `json:"networkFee"`
	DeveloperFee        *string          `json:"developerFee"`
	FxSpread            *string          `json:"fxSpread"`
	RoundingDelta       *string          `json:"roundingDelta"`
	UnexplainedDelta    *string          `json:"unexplainedDelta"`
	RequiredLegsTotal   int              `json:"requiredLegsTotal"`
	RequiredLegsPresent int              `json:"requiredLegsPresent"`
	EvidenceCoverage    EvidenceCoverage `json:"evidenceCoverage"`
	SLAAgeMinutes       int              `json:"slaAgeMinutes"`
	SLARisk             bool             `json:"slaRisk"`
	Notes               *string          `json:"notes"`
	// Version increases with every change of the case.
	Version       int           `json:"version"`
	ReconciledAt  *time.Time    `json:"reconciledAt"`
	ResolvedAt    *time.Time    `json:"resolvedAt"`
	LastRunAt     *time.Time    `json:"lastRunAt"`
	CreatedAt     time.Time     `json:"createdAt"`
	UpdatedAt     time.Time     `json:"updatedAt"`
	PaymentIntent PaymentIntent `json:"paymentIntent"`
	FlowLegs      []FlowLeg     `json:"flowLegs"`
	AuditEvents   []AuditEvent  `json:"auditEvents"`
}

// EvidenceCoverage is, per kind of evidence, present, pending, missing,
// failed or not_required.
type EvidenceCoverage struct {
	Expected string `json:"expected"`
	Provider string `json:"provider"`
	Chain    string `json:"chain"`
	Bank     string `json:"bank"`
	File     string `json:"file"`
}

// FlowLeg is a piece of evidence normalized and attached to a case.
type FlowLeg struct {
	ID                 string    `json:"id"`
	Type               string    `json:"type"` // provider_transfer, onchain_transfer, bank_settlement, file_record
	Status             string    `json:"status"`
	SourceStatus       string    `json:"sourceStatus"`
	Provider           *string   `json:"provider"`
	ProviderTransferID *string   `json:"providerTransferId"`
	TxHash             *string   `json:"txHash"`
	ChainID            *string   `json:"chainId"`
	Amount             string    `json:"amount"`
	Currency           string    `json:"currency"`
	DestinationAmount  *Money    `json:"destinationAmount"`
	FxRate             *string   `json:"fxRate"`
	ProviderFee        *string   `json:"providerFee"`
	NetworkFee         *string   `json:"networkFee"`
	DeveloperFee       *string   `json:"developerFee"`
	BankReference      *string   `json:"bankReference"`
	EndToEndID         *string   `json:"endToEndId"`
	ExternalReference  *string   `json:"externalReference"`
	RawRecordID        string    `json:"rawRecordId"`
	CaseID             *string   `json:"caseId"`
	OccurredAt         time.Time `json:"occurredAt"`
	CreatedAt          time.Time `json:"createdAt"`
}

// MatchLink links a flow leg to a case, with how and why.
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

// RawRecord is evidence exactly as it was received (never edited).
type RawRecord struct {
	ID             string          `json:"id"`
	Source         string          `json:"source"`
	SourceRef      string          `json:"sourceRef"`
	MatchStatus    string          `json:"matchStatus"`
	SignatureValid *bool           `json:"signatureValid"`
	ImportBatchID  *string         `json:"importBatchId"`
	RowNumber      *int            `json:"rowNumber"`
	Payload        json.RawMessage `json:"payload"`
	ReceivedAt     time.Time       `json:"receivedAt"`
	ProcessedAt    *time.Time      `json:"processedAt"`
}

// CaseFilter selects cases: Verdict matches any of its values; From and To
// bound createdAt (RFC 3339 or a date); SLARisk nil means either.
type CaseFilter struct {
	Status               string   `query:"status"`
	ReconciliationStatus string   `query:"reconciliationStatus"`
	Verdict              []string `query:"verdict"`
	ExceptionType        string   `query:"exceptionType"`
	SLARisk              *bool    `query:"slaRisk"`
	ExternalReference    string   `query:"externalReference"`
	PaymentIntentID      string   `query:"paymentIntentId"`
	From                 string   `query:"from"`
	To                   string   `query:"to"`
}

// ListCasesParams pages through the cases CaseFilter selects.
type ListCasesParams struct {
	ListParams
	CaseFilter
}

type caseNote struct {
	Note string `json:"note"`
}

type caseReason struct {
	Reason string `json:"reason,omitempty"`
}

// CaseExport is the JSON export of cases (seed 001): each case with the
// evidence behind it.
type CaseExport struct {
	ExportedAt time.Time        `json:"exportedAt"`
	Filters    CaseExportFilter `json:"filters"`
	Total      int              `json:"total"`
	Items      []CaseExportItem `json:"items"`
}

// CaseExportFilter echoes the filters an export applied.
type CaseExportFilter struct {
	Status               *string  `json:"status"`
	ReconciliationStatus *string  `json:"reconciliationStatus"`
	Verdicts             []string `json:"verdicts"`
	ExceptionType        *string  `json:"exceptionType"`
	SLARisk              *bool    `json:"slaRisk"`
	ExternalReference    *string  `json:"externalReference"`
	PaymentIntentID      *string  `json:"paymentIntentId"`
	From                 *string  `json:"from"`
	To                   *string  `json:"to"`
}

// CaseExportItem is one exported case.
type CaseExportItem struct {
	Case     ReconciliationCase `json:"case"`
	Evidence CaseEvidence       `json:"evidence"`
}

// CaseEvidence is everything received for a case.
type CaseEvidence struct {
	CaseID          string      `json:"caseId"`
	PaymentIntentID string      `json:"paymentIntentId"`
	RawRecords      []RawRecord `json:"rawRecords"`
	FlowLegs        []FlowLeg   `json:"flowLegs"`
	MatchLinks      []MatchLink `json:"matchLinks"`
}

// exportQuery is CaseFilter with the format the method picks.
type exportQuery struct {
	CaseFilter
	Format string `query:"format"`
}

var (
	routeListCases   = newRoute[ListCasesParams, none, Page[ReconciliationCase]](http.MethodGet, "/v1/reconciliation-cases")
	routeGetCase     = newRoute[none, none, ReconciliationCase](http.MethodGet, "/v1/reconciliation-cases/{id}")
	routeAddCaseNote = newRoute[none, caseNote, ReconciliationCase](http.MethodPost, "/v1/reconciliation-cases/{id}/notes")
	routeResolveCase = newRoute[none, caseReason, ReconciliationCase](http.MethodPost, "/v1/reconciliation-cases/{id}/resolve")
	routeReopenCase  = newRoute[none, caseReason, ReconciliationCase](http.MethodPost, "/v1/reconciliation-cases/{id}/reopen")
	routeArchiveCase = newRoute[none, caseReason, ReconciliationCase](http.MethodPost, "/v1/reconciliation-cases/{id}/archive")
	routeRerunCase   = newRoute[none, none, ReconciliationCase](http.MethodPost, "/v1/reconciliation-cases/{id}/rerun")
	routeExportCases = newRoute[exportQuery, none, CaseExport](http.MethodGet, "/v1/exports/reconciliation-cases")
)

// ListCases lists cases, newest first.
func (c *Client) ListCases(ctx context.Context, p ListCasesParams, opts ...RequestOption) (*Page[ReconciliationCase], error) {
	out, _, err := routeListCases.call(ctx, c, nil, p, none{}, opts)
	return out, err
}

// GetCase reads a case with its legs and audit trail.
func (c *Client) GetCase(ctx context.Context, id string, opts ...RequestOption) (*ReconciliationCase, error) {
	out, _, err := routeGetCase.call(ctx, c, []string{id}, none{}, none{}, opts)
	return out, err
}

// AddCaseNote adds a note to a case (the case shows the latest; the audit
// trail keeps all).
func (c *Client) AddCaseNote(ctx context.Context, id, note string, opts ...RequestOption) (*ReconciliationCase, error) {
	out, _, err := routeAddCaseNote.call(ctx, c, []string{id}, none{}, caseNote{Note: note}, opts)
	return out, err
}

// ResolveCase resolves an open case by hand; reason may be empty.
func (c *Client) ResolveCase(ctx context.Context, id, reason string, opts ...RequestOption) (*ReconciliationCase, error) {
	out, _, err := routeResolveCase.call(ctx, c, []string{id}, none{}, caseReason{Reason: reason}, opts)
	return out, err
}

// ReopenCase reopens a resolved or archived case; reason may be empty.
func (c *Client) ReopenCase(ctx context.Context, id, reason string, opts ...RequestOption) (*ReconciliationCase, error) {
	out, _, err := routeReopenCase.call(ctx, c, []string{id}, none{}, caseReason{Reason: reason}, opts)
	return out, err
}

// ArchiveCase archives an open or resolved case; reason may be empty.
func (c *Client) ArchiveCase(ctx context.Context, id, reason string, opts ...RequestOption) (*ReconciliationCase, error) {
	out, _, err := routeArchiveCase.call(ctx, c, []string{id}, none{}, caseReason{Reason: reason}, opts)
	return out, err
}

// RerunCase re-evaluates an open or resolved case now.
func (c *Client) RerunCase(ctx context.Context, id string, opts ...RequestOption) (*ReconciliationCase, error) {
	out, _, err := routeRerunCase.call(ctx, c, []string{id}, none{}, none{}, opts)
	return out, err
}

// ExportCases exports the cases f selects as JSON, each with its evidence.
// For many cases, ExportCasesCSV streams instead.
func (c *Client) ExportCases(ctx context.Context, f CaseFilter, opts ...RequestOption) (*CaseExport, error) {
	out, _, err := routeExportCases.call(ctx, c, nil, exportQuery{CaseFilter: f, Format: "json"}, none{}, opts)
	return out, err
}

// ExportCasesCSV streams the cases f selects to w as CSV, one row per case.
func (c *Client) ExportCasesCSV(ctx context.Context, f CaseFilter, w io.Writer, opts ...RequestOption) (*Response, error) {
	path := withQuery(routeExportCases.path, exportQuery{CaseFilter: f, Format: "csv"})
	return c.Do(ctx, routeExportCases.method, path, nil, w, append([]RequestOption{Header("Accept", "text/csv")}, opts...)...)
}
