package client

import (
	"context"
	"net/http"
	"time"
)

// FieldMapping maps one CSV column, by header name or 0-based index, to a
// canonical path in dotted camelCase (amount, fees.networkFee).
type FieldMapping struct {
	Column string   `json:"column,omitempty"`
	Index  *int     `json:"index,omitempty"`
	Path   string   `json:"path"`
	Type   string   `json:"type,omitempty"` // text, decimal, date or datetime
	Format string   `json:"format,omitempty"`
	Negate bool     `json:"negate,omitempty"`
	Strip  []string `json:"strip,omitempty"`
}

// ImportProfileSettings say how to read one kind of CSV export. Empty
// values take the server's defaults.
type ImportProfileSettings struct {
	Delimiter          string                       `json:"delimiter,omitempty"`
	Quote              *string                      `json:"quote,omitempty"`
	HeaderRow          *bool                        `json:"headerRow,omitempty"`
	SkipRows           int                          `json:"skipRows,omitempty"`
	Encoding           string                       `json:"encoding,omitempty"`
	DateFormat         string                       `json:"dateFormat,omitempty"`
	DecimalSeparator   string                       `json:"decimalSeparator,omitempty"`
	ThousandsSeparator string                       `json:"thousandsSeparator,omitempty"`
	Fields             []FieldMapping               `json:"fields,omitempty"`
	ValueMappings      map[string]map[string]string `json:"valueMappings,omitempty"`
	Defaults           map[string]string            `json:"defaults,omitempty"`
}

// CreateImportProfileParams creates a profile. RecordType is
// bank_statement, psp_report, onchain_report or client_internal_ledger.
type CreateImportProfileParams struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	RecordType  string `json:"recordType"`
	ImportProfileSettings
}

// ImportProfile is a stored profile.
type ImportProfile struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organizationId"`
	Name           string    `json:"name"`
	Description    *string   `json:"description"`
	RecordType     string    `json:"recordType"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
	ImportProfileSettings
}

// CreateImportBatchParams uploads a file as JSON: its text in Content, or
// its bytes in ContentBase64 (encoded by encoding/json). A CSV file needs
// ImportProfileID; statement formats are recognized from the content.
type CreateImportBatchParams struct {
	ImportProfileID       string `json:"importProfileId,omitempty"`
	RecordType            string `json:"recordType,omitempty"`
	Format                string `json:"format,omitempty"`
	OriginalFileName      string `json:"originalFileName"`
	Content               string `json:"content,omitempty"`
	ContentBase64         []byte `json:"contentBase64,omitempty"`
	AcceptControlMismatch bool   `json:"acceptControlMismatch,omitempty"`
}

// UploadImportBatchParams uploads a file as multipart/form-data, the way to
// send a large one. OriginalFileName defaults to File.Name.
type UploadImportBatchParams struct {
	File                  File   `form:"file"`
	ImportProfileID       string `form:"importProfileId"`
	RecordType            string `form:"recordType"`
	Format                string `form:"format"`
	OriginalFileName      string `form:"originalFileName"`
	AcceptControlMismatch bool   `form:"acceptControlMismatch"`
}

// ImportBatch is an uploaded file as the worker parses it: status queued,
// processing, completed or failed, with counts as it goes.
type ImportBatch struct {
	ID                    string                   `json:"id"`
	OrganizationID        string                   `json:"organizationId"`
	ImportProfileID       *string                  `json:"importProfileId"`
	RecordType            string                   `json:"recordType"`
	Format                string                   `json:"format"`
	OriginalFileName      string                   `json:"originalFileName"`
	AcceptControlMismatch bool                     `json:"acceptControlMismatch"`
	ContentSHA256         string                   `json:"contentSha256"`
	SizeBytes             int64                    `json:"sizeBytes"`
	Status                string                   `json:"status"`
	Error                 *string                  `json:"error"`
	Counts                ImportCounts             `json:"counts"`
	Statements            []ImportStatementSummary `json:"statements"`
	Warnings              []string                 `json:"warnings"`
	CreatedBy             string                   `json:"createdBy"`
	CreatedAt             time.Time                `json:"createdAt"`
	StartedAt             *time.Time               `json:"startedAt"`
	CompletedAt           *time.Time               `json:"completedAt"`
	UpdatedAt             time.Time                `json:"updatedAt"`
}

// ImportBatchCreated is the answer to an upload; Duplicate when the same
// file (by SHA-256) was uploaded before, and this is that batch.
type ImportBatchCreated struct {
	ImportBatch
	Duplicate bool `json:"duplicate"`
}

// ImportCounts count a batch's rows.
type ImportCounts struct {
	Total   int `json:"total"`
	Valid   int `json:"valid"`
	Invalid int `json:"invalid"`
	Matched int `json:"matched"`
}

// ImportStatementSummary is what one statement in a file says and whether
// its entries add up.
type ImportStatementSummary struct {
	ID             string                  `json:"id"`
	Format         string                  `json:"format"`
	Account        string                  `json:"account"`
	Currency       string                  `json:"currency"`
	Sequence       string                  `json:"sequence,omitempty"`
	OpeningBalance *ImportStatementBalance `json:"openingBalance"`
	ClosingBalance *ImportStatementBalance `json:"closingBalance"`
	Entries        int                     `json:"entries"`
	Credits        string                  `json:"credits"`
	Debits         string                  `json:"debits"`
	Reconciles     *bool                   `json:"reconciles"`
	Difference     *string                 `json:"difference"`
}

// ImportStatementBalance is a statement's balance on a date.
type ImportStatementBalance struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Date     string `json:"date"`
}

// ImportRow is one row of a batch: the raw record it became and whether it
// was valid (validationStatus valid or invalid, with the reasons).
type ImportRow struct {
	RawRecord
	ValidationStatus string   `json:"validationStatus"`
	ValidationErrors []string `json:"validationErrors"`
	PaymentIntentID  *string  `json:"paymentIntentId"`
}

// ListImportRowsParams pages a batch's rows; ValidationStatus valid or
// invalid keeps only those.
type ListImportRowsParams struct {
	ListParams
	ValidationStatus string `query:"validationStatus"`
}

var (
	routeCreateImportProfile = newRoute[none, CreateImportProfileParams, ImportProfile](http.MethodPost, "/v1/import-profiles")
	routeCreateImportBatch   = newRoute[none, CreateImportBatchParams, ImportBatchCreated](http.MethodPost, "/v1/import-batches")
	routeUploadImportBatch   = newMultipartRoute[none, UploadImportBatchParams, ImportBatchCreated](http.MethodPost, "/v1/import-batches")
	routeGetImportBatch      = newRoute[none, none, ImportBatch](http.MethodGet, "/v1/import-batches/{id}")
	routeListImportRows      = newRoute[ListImportRowsParams, none, Page[ImportRow]](http.MethodGet, "/v1/import-batches/{id}/raw-records")
)

// CreateImportProfile stores how to read a kind of CSV file.
func (c *Client) CreateImportProfile(ctx context.Context, p CreateImportProfileParams, opts ...RequestOption) (*ImportProfile, error) {
	out, _, err := routeCreateImportProfile.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// CreateImportBatch uploads a file in a JSON body; the worker parses it.
func (c *Client) CreateImportBatch(ctx context.Context, p CreateImportBatchParams, opts ...RequestOption) (*ImportBatchCreated, error) {
	out, _, err := routeCreateImportBatch.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// UploadImportBatch uploads a file as multipart/form-data; the worker parses it.
func (c *Client) UploadImportBatch(ctx context.Context, p UploadImportBatchParams, opts ...RequestOption) (*ImportBatchCreated, error) {
	out, _, err := routeUploadImportBatch.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// GetImportBatch reads a batch: poll it until its status is completed or failed.
func (c *Client) GetImportBatch(ctx context.Context, id string, opts ...RequestOption) (*ImportBatch, error) {
	out, _, err := routeGetImportBatch.call(ctx, c, []string{id}, none{}, none{}, opts)
	return out, err
}

// WaitImportBatch polls b every interval until the worker is done with it
// (completed or failed) and returns it as it ended; seen, when not nil,
// gets each read, to report progress from the batch's counts.
func (c *Client) WaitImportBatch(ctx context.Context, b *ImportBatch, every time.Duration, seen func(*ImportBatch)) (*ImportBatch, error) {
	for b.Status == "queued" || b.Status == "processing" {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(every):
		}
		var err error
		if b, err = c.GetImportBatch(ctx, b.ID); err != nil {
			return nil, err
		}
		if seen != nil {
			seen(b)
		}
	}
	return b, nil
}

// ListImportRows lists a batch's rows in file order.
func (c *Client) ListImportRows(ctx context.Context, batchID string, p ListImportRowsParams, opts ...RequestOption) (*Page[ImportRow], error) {
	out, _, err := routeListImportRows.call(ctx, c, []string{batchID}, p, none{}, opts)
	return out, err
}
