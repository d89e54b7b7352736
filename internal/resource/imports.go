package resource

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/reconlayer/reconlayer/internal/db"
)

// ImportBatch is an import batch: the file, how far its parsing got, and
// what its statements say.
type ImportBatch struct {
	ID               string  `json:"id"`
	OrganizationID   string  `json:"organizationId"`
	ImportProfileID  *string `json:"importProfileId"`
	RecordType       string  `json:"recordType"`
	Format           string  `json:"format"`
	OriginalFileName string  `json:"originalFileName"`
	// AcceptControlMismatch: stated control totals that do not add up are
	// warnings rather than the batch's failure.
	AcceptControlMismatch bool            `json:"acceptControlMismatch"`
	ContentSHA256         string          `json:"contentSha256"`
	SizeBytes             int64           `json:"sizeBytes"`
	Status                string          `json:"status"`
	Error                 *string         `json:"error"`
	Counts                ImportCounts    `json:"counts"`
	Statements            json.RawMessage `json:"statements"`
	Warnings              json.RawMessage `json:"warnings"`
	CreatedBy             string          `json:"createdBy"`
	CreatedAt             time.Time       `json:"createdAt"`
	StartedAt             *time.Time      `json:"startedAt"`
	CompletedAt           *time.Time      `json:"completedAt"`
	UpdatedAt             time.Time       `json:"updatedAt"`
}

// ImportCounts are a batch's rows so far: while it is processing, total
// grows as chunks are stored (progress); matched grows as its evidence is
// matched, after it completes.
type ImportCounts struct {
	Total   int32 `json:"total"`
	Valid   int32 `json:"valid"`
	Invalid int32 `json:"invalid"`
	Matched int32 `json:"matched"`
}

// RenderImportBatch renders a batch.
func RenderImportBatch(b db.ImportBatch) ImportBatch {
	statements := json.RawMessage(b.Statements)
	if len(statements) == 0 {
		statements = json.RawMessage("[]")
	}
	warnings := json.RawMessage(b.Warnings)
	if len(warnings) == 0 {
		warnings = json.RawMessage("[]")
	}
	return ImportBatch{
		ID: b.ID.String(), OrganizationID: b.OrganizationID.String(), ImportProfileID: UUIDStr(b.ProfileID),
		RecordType: b.RecordType, Format: b.Format, OriginalFileName: b.OriginalFileName, AcceptControlMismatch: b.AcceptControlMismatch,
		ContentSHA256: hex.EncodeToString(b.ContentSha256), SizeBytes: b.SizeBytes, Status: b.Status, Error: b.Error,
		Counts:     ImportCounts{Total: b.TotalRows, Valid: b.ValidRows, Invalid: b.InvalidRows, Matched: b.MatchedRows},
		Statements: statements, Warnings: warnings, CreatedBy: b.CreatedBy, CreatedAt: b.CreatedAt.UTC(), StartedAt: UTCPtr(b.StartedAt),
		CompletedAt: UTCPtr(b.CompletedAt), UpdatedAt: b.UpdatedAt.UTC(),
	}
}
