package client

import (
	"context"
	"net/http"
	"time"
)

// Ledger is a book of accounts and GL entries (snake_case, as seed 003).
type Ledger struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Currency    *string        `json:"currency"`
	Metadata    map[string]any `json:"metadata"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// CreateLedgerParams creates a ledger.
type CreateLedgerParams struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Currency    string         `json:"currency,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// LedgerAccount is an account of a ledger; UnreconciledCount only in
// ListLedgerAccounts.
type LedgerAccount struct {
	ID                string    `json:"id"`
	LedgerID          string    `json:"ledger_id"`
	Name              string    `json:"name"`
	Code              string    `json:"code"`
	Currency          string    `json:"currency"`
	NormalBalance     string    `json:"normal_balance"`
	UnreconciledCount *int      `json:"unreconciled_count,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

// CreateLedgerAccountParams opens an account; NormalBalance debit or credit.
type CreateLedgerAccountParams struct {
	Name          string `json:"name"`
	Code          string `json:"code"`
	Currency      string `json:"currency"`
	NormalBalance string `json:"normal_balance,omitempty"`
}

// ListLedgerAccountsParams narrows ListLedgerAccounts to one ledger.
type ListLedgerAccountsParams struct {
	LedgerID string `query:"ledger_id"`
}

// LedgerEntryInput is a GL entry to book on the account with code Account.
// BookingDate is YYYY-MM-DD; ExternalID is unique in the ledger.
type LedgerEntryInput struct {
	Account     string `json:"account"`
	Direction   string `json:"direction"` // debit or credit
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	BookingDate string `json:"booking_date"`
	Reference   string `json:"reference,omitempty"`
	Description string `json:"description,omitempty"`
	ExternalID  string `json:"external_id"`
}

type addLedgerEntries struct {
	Entries []LedgerEntryInput `json:"entries"`
}

// LedgerEntriesAdded is the answer to AddLedgerEntries.
type LedgerEntriesAdded struct {
	LedgerID string `json:"ledger_id"`
	Created  int    `json:"created"`
}

// CreateLedgerRunParams opens a reconciliation run of a ledger (or one of
// its accounts) in Mode manual or automatic. IdempotencyKey is seed 003's
// body field; the client's Idempotency-Key header wins over it.
type CreateLedgerRunParams struct {
	LedgerID       string `json:"ledger_id"`
	AccountID      string `json:"account_id,omitempty"`
	Mode           string `json:"mode"`
	SourceType     string `json:"source_type,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Note           string `json:"note,omitempty"`
	WindowDays     *int   `json:"window_days,omitempty"`
}

// LedgerRun is a reconciliation run: status pending, running, completed,
// failed or closed.
type LedgerRun struct {
	ID             string     `json:"id"`
	LedgerID       string     `json:"ledger_id"`
	AccountID      *string    `json:"account_id"`
	Mode           string     `json:"mode"`
	SourceType     string     `json:"source_type"`
	Status         string     `json:"status"`
	Note           *string    `json:"note"`
	IdempotencyKey *string    `json:"idempotency_key"`
	WindowDays     int        `json:"window_days"`
	MatchedCount   int        `json:"matched_count"`
	Error          *string    `json:"error"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	CompletedAt    *time.Time `json:"completed_at"`
}

// UploadLedgerSourceParams uploads a statement file to a run; Format (csv,
// camt.053, bai2, mt940) is recognized from the content when empty.
type UploadLedgerSourceParams struct {
	File           File   `form:"file"`
	Format         string `form:"format"`
	IdempotencyKey string `form:"idempotency_key"`
}

// LedgerSourceUpload is the answer to an upload: Imported lines once the
// worker read the file (nil while pending, with a 202).
type LedgerSourceUpload struct {
	SourceFile LedgerSourceFileRef `json:"source_file"`
	Imported   *int                `json:"imported"`
	Status     string              `json:"status"` // pending, processed or failed
	Duplicate  bool                `json:"duplicate"`
	Error      string              `json:"error,omitempty"`
}

// LedgerSourceFileRef names an uploaded source file.
type LedgerSourceFileRef struct {
	ID    string `json:"id"`
	RunID string `json:"run_id"`
}

// LedgerAutoMatch is the answer to AutoMatchLedgerRun: Matched once the run
// is done (nil while it runs, with a 202).
type LedgerAutoMatch struct {
	RunID   string `json:"run_id"`
	Matched *int   `json:"matched"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
}

// LedgerMatch pairs statement lines with GL entries: status suggested,
// accepted or rejected.
type LedgerMatch struct {
	ID             string     `json:"id"`
	RunID          string     `json:"run_id"`
	Status         string     `json:"status"`
	Kind           string     `json:"kind"`
	Strategy       string     `json:"strategy"`
	Score          float64    `json:"score"`
	Reason         string     `json:"reason"`
	Note           *string    `json:"note"`
	Amount         string     `json:"amount"`
	Currency       string     `json:"currency"`
	SourceEntryIDs []string   `json:"source_entry_ids"`
	LedgerEntryIDs []string   `json:"ledger_entry_ids"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	DecidedAt      *time.Time `json:"decided_at"`
	DecidedBy      *string    `json:"decided_by"`
}

// LedgerDiscrepancy is a difference a run found: amount_mismatch,
// missing_in_ledger, missing_in_statement, duplicate, date_mismatch or
// balance_mismatch.
type LedgerDiscrepancy struct {
	ID             string    `json:"id"`
	RunID          string    `json:"run_id"`
	Type           string    `json:"type"`
	Severity       string    `json:"severity"`
	Status         string    `json:"status"`
	SourceEntryIDs []string  `json:"source_entry_ids"`
	LedgerEntryIDs []string  `json:"ledger_entry_ids"`
	Amount         *string   `json:"amount"`
	Currency       *string   `json:"currency"`
	Message        string    `json:"message"`
	Note           *string   `json:"note"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ListLedgerMatchesParams pages a run's matches; Status keeps only those.
type ListLedgerMatchesParams struct {
	LedgerListParams
	Status string `query:"status"`
}

// ListLedgerDiscrepanciesParams pages a run's discrepancies.
type ListLedgerDiscrepanciesParams struct {
	LedgerListParams
	Type   string `query:"type"`
	Status string `query:"status"`
}

var (
	routeCreateLedger            = newRoute[none, CreateLedgerParams, Ledger](http.MethodPost, "/v1/ledgers")
	routeCreateLedgerAccount     = newRoute[none, CreateLedgerAccountParams, LedgerAccount](http.MethodPost, "/v1/ledgers/{id}/accounts")
	routeListLedgerAccounts      = newRoute[ListLedgerAccountsParams, none, OffsetPage[LedgerAccount]](http.MethodGet, "/v1/ledgers/accounts")
	routeAddLedgerEntries        = newRoute[none, addLedgerEntries, LedgerEntriesAdded](http.MethodPost, "/v1/ledgers/{id}/entries")
	routeCreateLedgerRun         = newRoute[none, CreateLedgerRunParams, LedgerRun](http.MethodPost, "/v1/ledgers/reconciliation/runs")
	routeGetLedgerRun            = newRoute[none, none, LedgerRun](http.MethodGet, "/v1/ledgers/reconciliation/runs/{runID}")
	routeUploadLedgerSource      = newMultipartRoute[none, UploadLedgerSourceParams, LedgerSourceUpload](http.MethodPost, "/v1/ledgers/reconciliation/runs/{runID}/sources/upload")
	routeAutoMatchLedgerRun      = newRoute[none, none, LedgerAutoMatch](http.MethodPost, "/v1/ledgers/reconciliation/runs/{runID}/auto-match")
	routeListLedgerMatches       = newRoute[ListLedgerMatchesParams, none, OffsetPage[LedgerMatch]](http.MethodGet, "/v1/ledgers/reconciliation/runs/{runID}/matches")
	routeListLedgerDiscrepancies = newRoute[ListLedgerDiscrepanciesParams, none, OffsetPage[LedgerDiscrepancy]](http.MethodGet, "/v1/ledgers/reconciliation/runs/{runID}/discrepancies")
)

// MaxLedgerEntriesPerRequest is the most entries AddLedgerEntries sends in
// one request (the route's batch limit).
const MaxLedgerEntriesPerRequest = 10_000

// CreateLedger creates a ledger.
func (c *Client) CreateLedger(ctx context.Context, p CreateLedgerParams, opts ...RequestOption) (*Ledger, error) {
	out, _, err := routeCreateLedger.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// CreateLedgerAccount opens an account in a ledger.
func (c *Client) CreateLedgerAccount(ctx context.Context, ledgerID string, p CreateLedgerAccountParams, opts ...RequestOption) (*LedgerAccount, error) {
	out, _, err := routeCreateLedgerAccount.call(ctx, c, []string{ledgerID}, none{}, p, opts)
	return out, err
}

// ListLedgerAccounts lists accounts with their unreconciled counts.
func (c *Client) ListLedgerAccounts(ctx context.Context, p ListLedgerAccountsParams, opts ...RequestOption) (*OffsetPage[LedgerAccount], error) {
	out, _, err := routeListLedgerAccounts.call(ctx, c, nil, p, none{}, opts)
	return out, err
}

// AddLedgerEntries books entries in one request, all or none: at most
// MaxLedgerEntriesPerRequest (split larger books into several calls).
func (c *Client) AddLedgerEntries(ctx context.Context, ledgerID string, entries []LedgerEntryInput, opts ...RequestOption) (*LedgerEntriesAdded, error) {
	out, _, err := routeAddLedgerEntries.call(ctx, c, []string{ledgerID}, none{}, addLedgerEntries{Entries: entries}, opts)
	return out, err
}

// CreateLedgerRun opens a reconciliation run.
func (c *Client) CreateLedgerRun(ctx context.Context, p CreateLedgerRunParams, opts ...RequestOption) (*LedgerRun, error) {
	out, _, err := routeCreateLedgerRun.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// GetLedgerRun reads a run: poll it after a 202 auto-match until its status
// is completed or failed.
func (c *Client) GetLedgerRun(ctx context.Context, runID string, opts ...RequestOption) (*LedgerRun, error) {
	out, _, err := routeGetLedgerRun.call(ctx, c, []string{runID}, none{}, none{}, opts)
	return out, err
}

// UploadLedgerSource uploads a statement file to a run; by default the
// server waits a short time for the worker to read it (PreferAsync,
// PreferWait change that).
func (c *Client) UploadLedgerSource(ctx context.Context, runID string, p UploadLedgerSourceParams, opts ...RequestOption) (*LedgerSourceUpload, error) {
	out, _, err := routeUploadLedgerSource.call(ctx, c, []string{runID}, none{}, p, opts)
	return out, err
}

// AutoMatchLedgerRun matches a run's statement lines with GL entries; by
// default the server waits a short time for the result (PreferAsync,
// PreferWait change that).
func (c *Client) AutoMatchLedgerRun(ctx context.Context, runID string, opts ...RequestOption) (*LedgerAutoMatch, error) {
	out, _, err := routeAutoMatchLedgerRun.call(ctx, c, []string{runID}, none{}, none{}, opts)
	return out, err
}

// ListLedgerMatches lists a run's matches.
func (c *Client) ListLedgerMatches(ctx context.Context, runID string, p ListLedgerMatchesParams, opts ...RequestOption) (*OffsetPage[LedgerMatch], error) {
	out, _, err := routeListLedgerMatches.call(ctx, c, []string{runID}, p, none{}, opts)
	return out, err
}

// ListLedgerDiscrepancies lists a run's discrepancies.
func (c *Client) ListLedgerDiscrepancies(ctx context.Context, runID string, p ListLedgerDiscrepanciesParams, opts ...RequestOption) (*OffsetPage[LedgerDiscrepancy], error) {
	out, _, err := routeListLedgerDiscrepancies.call(ctx, c, []string{runID}, p, none{}, opts)
	return out, err
}
