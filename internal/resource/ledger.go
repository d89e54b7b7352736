package resource

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Ledger runs (seed 003) answer in snake_case, as their reference does.

// Ledger is a book.
type Ledger struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Currency    *string         `json:"currency"`
	Metadata    json.RawMessage `json:"metadata"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// RenderLedger renders l.
func RenderLedger(l db.Ledger) Ledger {
	return Ledger{ID: l.ID.String(), Name: l.Name, Description: l.Description, Currency: l.Currency, Metadata: l.Metadata,
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

// LedgerAccount is an account of a ledger; UnreconciledCount is set by
// GET /v1/ledgers/accounts.
type LedgerAccount struct {
	ID                string    `json:"id"`
	LedgerID          string    `json:"ledger_id"`
	Name              string    `json:"name"`
	Code              string    `json:"code"`
	Currency          string    `json:"currency"`
	NormalBalance     string    `json:"normal_balance"`
	CreatedAt         time.Time `json:"created_at"`
	UnreconciledCount *int64    `json:"unreconciled_count,omitempty"`
}

// RenderLedgerAccount renders a.
func RenderLedgerAccount(a db.LedgerAccount) LedgerAccount {
	return LedgerAccount{ID: a.ID.String(), LedgerID: a.LedgerID.String(), Name: a.Name, Code: a.Code, Currency: a.Currency,
		NormalBalance: a.NormalBalance, CreatedAt: a.CreatedAt.UTC()}
}

// RenderAccountWithUnreconciled renders an account with its count.
func RenderAccountWithUnreconciled(a db.AccountsWithUnreconciledRow) LedgerAccount {
	out := RenderLedgerAccount(db.LedgerAccount{ID: a.ID, OrganizationID: a.OrganizationID, LedgerID: a.LedgerID, Name: a.Name,
		Code: a.Code, Currency: a.Currency, NormalBalance: a.NormalBalance, CreatedAt: a.CreatedAt})
	out.UnreconciledCount = &a.UnreconciledCount
	return out
}

// LedgerEntry is a GL entry; MatchID is the active match that holds it,
// in the run views.
type LedgerEntry struct {
	ID          string    `json:"id"`
	LedgerID    string    `json:"ledger_id"`
	AccountID   string    `json:"account_id"`
	Direction   string    `json:"direction"`
	Amount      string    `json:"amount"`
	Currency    string    `json:"currency"`
	BookingDate string    `json:"booking_date"`
	Reference   *string   `json:"reference"`
	Description *string   `json:"description"`
	ExternalID  string    `json:"external_id"`
	CreatedAt   time.Time `json:"created_at"`
	MatchID     *string   `json:"match_id,omitempty"`
	MatchRunID  *string   `json:"match_run_id,omitempty"`
	Reconciled  *bool     `json:"reconciled,omitempty"`
}

// RenderLedgerEntry renders e.
func RenderLedgerEntry(e db.LedgerEntry) LedgerEntry {
	return LedgerEntry{ID: e.ID.String(), LedgerID: e.LedgerID.String(), AccountID: e.AccountID.String(), Direction: e.Direction,
		Amount: e.Amount.String(), Currency: e.Currency, BookingDate: Day(e.BookingDate), Reference: e.Reference,
		Description: e.Description, ExternalID: e.ExternalID, CreatedAt: e.CreatedAt.UTC()}
}

// RenderRunGLEntry renders an entry of a run's view with the match that
// holds it.
func RenderRunGLEntry(e db.RunGLEntriesRow) LedgerEntry {
	out := RenderLedgerEntry(db.LedgerEntry{ID: e.ID, OrganizationID: e.OrganizationID, LedgerID: e.LedgerID, AccountID: e.AccountID,
		Direction: e.Direction, Amount: e.Amount, Currency: e.Currency, BookingDate: e.BookingDate, Reference: e.Reference,
		Description: e.Description, ExternalID: e.ExternalID, CreatedAt: e.CreatedAt})
	reconciled := e.MatchID != nil
	out.MatchID, out.MatchRunID, out.Reconciled = UUIDStr(e.MatchID), UUIDStr(e.MatchRunID), &reconciled
	return out
}

// LedgerRun is a reconciliation run.
type LedgerRun struct {
	ID             string     `json:"id"`
	LedgerID       string     `json:"ledger_id"`
	AccountID      *string    `json:"account_id"`
	Mode           string     `json:"mode"`
	SourceType     string     `json:"source_type"`
	Status         string     `json:"status"`
	Note           *string    `json:"note"`
	IdempotencyKey *string    `json:"idempotency_key"`
	WindowDays     int32      `json:"window_days"`
	MatchedCount   int32      `json:"matched_count"`
	Error          *string    `json:"error"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	CompletedAt    *time.Time `json:"completed_at"`
}

// RenderLedgerRun renders r.
func RenderLedgerRun(r db.LedgerRun) LedgerRun {
	return LedgerRun{ID: r.ID.String(), LedgerID: r.LedgerID.String(), AccountID: UUIDStr(r.AccountID), Mode: r.Mode,
		SourceType: r.SourceType, Status: r.Status, Note: r.Note, IdempotencyKey: r.IdempotencyKey, WindowDays: r.WindowDays,
		MatchedCount: r.MatchedCount, Error: r.Error, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		CompletedAt: UTCPtr(r.CompletedAt)}
}

// RunSource is an uploaded statement file.
type RunSource struct {
	ID          string          `json:"id"`
	RunID       string          `json:"run_id"`
	FileName    string          `json:"file_name"`
	Format      string          `json:"format"`
	Status      string          `json:"status"`
	SizeBytes   int64           `json:"size_bytes"`
	Imported    int32           `json:"imported"`
	Statements  json.RawMessage `json:"statements"`
	Error       *string         `json:"error"`
	CreatedAt   time.Time       `json:"created_at"`
	ProcessedAt *time.Time      `json:"processed_at"`
}

// RenderRunSource renders s.
func RenderRunSource(s db.LedgerRunSource) RunSource {
	return RunSource{ID: s.ID.String(), RunID: s.RunID.String(), FileName: s.FileName, Format: s.Format, Status: s.Status,
		SizeBytes: s.SizeBytes, Imported: s.Imported, Statements: s.Statements, Error: s.Error, CreatedAt: s.CreatedAt.UTC(),
		ProcessedAt: UTCPtr(s.ProcessedAt)}
}

// RunItem is a statement line of a run (a "source entry").
type RunItem struct {
	ID           string     `json:"id"`
	RunID        string     `json:"run_id"`
	SourceFileID string     `json:"source_file_id"`
	RowNumber    int32      `json:"row_number"`
	Direction    string     `json:"direction"`
	Amount       string     `json:"amount"`
	Currency     string     `json:"currency"`
	BookingDate  string     `json:"booking_date"`
	ValueDate    *string    `json:"value_date"`
	Reference    *string    `json:"reference"`
	EndToEndID   *string    `json:"end_to_end_id"`
	Counterparty *string    `json:"counterparty"`
	Description  *string    `json:"description"`
	MatchStatus  string     `json:"match_status"`
	MatchID      *string    `json:"match_id"`
	ClosedAt     *time.Time `json:"closed_at"`
	CloseReason  *string    `json:"close_reason"`
	CloseNote    *string    `json:"close_note"`
	ClosedBy     *string    `json:"closed_by"`
}

// RenderRunItem renders a line with its match status.
func RenderRunItem(i db.RunItemsRow) RunItem {
	return RunItem{ID: i.ID.String(), RunID: i.RunID.String(), SourceFileID: i.SourceID.String(), RowNumber: i.RowNumber,
		Direction: i.Direction, Amount: i.Amount.String(), Currency: i.Currency, BookingDate: Day(i.BookingDate),
		ValueDate: DayPtr(i.ValueDate), Reference: i.Reference, EndToEndID: i.EndToEndID, Counterparty: i.Counterparty,
		Description: i.Description, MatchStatus: i.MatchStatus, MatchID: UUIDStr(i.MatchID), ClosedAt: UTCPtr(i.ClosedAt),
		CloseReason: i.CloseReason, CloseNote: i.CloseNote, ClosedBy: i.ClosedBy}
}

// RenderLedgerRunItem renders a line as an action returns it (its match
// status follows from closure alone there).
func RenderLedgerRunItem(i db.LedgerRunItem) RunItem {
	status := "unmatched"
	if i.ClosedAt != nil {
		status = "closed"
	}
	return RenderRunItem(db.RunItemsRow{ID: i.ID, OrganizationID: i.OrganizationID, RunID: i.RunID, SourceID: i.SourceID,
		RowNumber: i.RowNumber, Direction: i.Direction, Amount: i.Amount, Currency: i.Currency, BookingDate: i.BookingDate,
		ValueDate: i.ValueDate, Status: i.Status, Reference: i.Reference, EndToEndID: i.EndToEndID, Counterparty: i.Counterparty,
		Description: i.Description, ClosedAt: i.ClosedAt, CloseReason: i.CloseReason, CloseNote: i.CloseNote, ClosedBy: i.ClosedBy,
		MatchStatus: status})
}

// LedgerMatch links lines of a run to GL entries.
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

// RenderLedgerMatch renders a match with its sides.
func RenderLedgerMatch(m db.GetLedgerMatchRow) LedgerMatch {
	return LedgerMatch{ID: m.ID.String(), RunID: m.RunID.String(), Status: m.Status, Kind: m.Kind, Strategy: m.Strategy,
		Score: m.Score, Reason: m.Reason, Note: m.Note, Amount: m.Amount.String(), Currency: m.Currency,
		SourceEntryIDs: MapSlice(m.ItemIds, uuid.UUID.String), LedgerEntryIDs: MapSlice(m.EntryIds, uuid.UUID.String),
		CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt.UTC(), DecidedAt: UTCPtr(m.DecidedAt), DecidedBy: m.DecidedBy}
}

// RenderRunMatch renders a match of a run's list.
func RenderRunMatch(m db.RunMatchesRow) LedgerMatch {
	return RenderLedgerMatch(db.GetLedgerMatchRow(m))
}

// LedgerDiscrepancy is something of a run a person has to look at.
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

// RenderLedgerDiscrepancy renders d.
func RenderLedgerDiscrepancy(d db.LedgerDiscrepancy) LedgerDiscrepancy {
	return LedgerDiscrepancy{ID: d.ID.String(), RunID: d.RunID.String(), Type: d.Type, Severity: d.Severity, Status: d.Status,
		SourceEntryIDs: MapSlice(d.ItemIds, uuid.UUID.String), LedgerEntryIDs: MapSlice(d.EntryIds, uuid.UUID.String),
		Amount: DecStr(d.Amount), Currency: d.Currency, Message: d.Message, Note: d.Note, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// Day is a date as YYYY-MM-DD.
func Day(d pgtype.Date) string { return d.Time.Format(time.DateOnly) }

// DayPtr is Day, or nil for no date.
func DayPtr(d pgtype.Date) *string {
	if !d.Valid {
		return nil
	}
	s := Day(d)
	return &s
}
