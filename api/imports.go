package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// importProfileJSON is an import profile: its settings at the top level.
type importProfileJSON struct {
	ID             string  `json:"id"`
	OrganizationID string  `json:"organizationId"`
	Name           string  `json:"name"`
	Description    *string `json:"description"`
	RecordType     string  `json:"recordType"`
	statement.Profile
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func renderImportProfile(p db.ImportProfile) importProfileJSON {
	var settings statement.Profile
	_ = json.Unmarshal(p.Settings, &settings)
	return importProfileJSON{
		ID: p.ID.String(), OrganizationID: p.OrganizationID.String(), Name: p.Name, Description: p.Description,
		RecordType: p.RecordType, Profile: settings, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

// importProfileRequest is the body of POST (name, recordType and the
// settings required) and PATCH (settings, when any is sent, replace the
// stored ones as a whole).
type importProfileRequest struct {
	Name        *string          `json:"name"`
	Description nullable[string] `json:"description"`
	RecordType  *string          `json:"recordType"`
	*statement.Profile

	partial bool
}

func (r *importProfileRequest) validate(is *issues) {
	if r.Name != nil || !r.partial {
		name := ""
		if r.Name != nil {
			name = *r.Name
		}
		validate.Name(name, []string{"name"}, true, is)
	}
	validate.Description(r.Description.Value, is)
	switch {
	case r.RecordType == nil && !r.partial:
		is.Add([]string{"recordType"}, "Required; one of %s.", strings.Join(importer.RecordTypes, ", "))
	case r.RecordType != nil && !slices.Contains(importer.RecordTypes, *r.RecordType):
		is.Add([]string{"recordType"}, "Must be one of %s.", strings.Join(importer.RecordTypes, ", "))
	}
	switch {
	case r.Profile == nil && !r.partial:
		is.Add([]string{"fields"}, "Required: which column holds which field.")
	case r.Profile != nil:
		for _, pi := range r.Profile.Validate() {
			is.Add(pi.Path, "%s", pi.Message)
		}
	}
}

func (s *server) createImportProfile(c *gin.Context) {
	var req importProfileRequest
	if !s.bindJSON(c, &req) {
		return
	}
	in := importer.ProfileInput{Name: strings.TrimSpace(*req.Name), Description: req.Description.Value, RecordType: *req.RecordType, Settings: *req.Profile}
	_, err := s.imports.CreateProfile(c.Request.Context(), mustPrincipal(c).OrganizationID, in,
		completeWith(c, status[db.ImportProfile](http.StatusCreated), plain(func(p db.ImportProfile) any { return renderImportProfile(p) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listImportProfiles(c *gin.Context) {
	var is issues
	listQuery(c, &is)
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, total, err := s.imports.ListProfiles(c.Request.Context(), mustPrincipal(c).OrganizationID, pg)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, renderImportProfile, func(p db.ImportProfile) (time.Time, uuid.UUID) { return p.CreatedAt, p.ID })
}

func (s *server) updateImportProfile(c *gin.Context) {
	id, ok := pathID(c, "Import profile")
	if !ok {
		return
	}
	req := importProfileRequest{partial: true}
	if !s.bindJSON(c, &req) {
		return
	}
	in := importer.ProfileUpdate{SetDescription: req.Description.Set, Description: req.Description.Value, RecordType: req.RecordType, Settings: req.Profile}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		in.Name = &name
	}
	p, err := s.imports.UpdateProfile(c.Request.Context(), mustPrincipal(c).OrganizationID, id, in)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, renderImportProfile(p))
}

// importBatchJSONRequest is the JSON form of an upload: the file's text in
// content, or its bytes in contentBase64.
type importBatchJSONRequest struct {
	ImportProfileID  *string `json:"importProfileId"`
	RecordType       *string `json:"recordType"`
	Format           *string `json:"format"`
	OriginalFileName string  `json:"originalFileName"`
	Content          *string `json:"content"`
	ContentBase64    *string `json:"contentBase64"`
	// AcceptControlMismatch: a control total the file states that its
	// entries do not add up to is a warning, not the batch's failure.
	AcceptControlMismatch bool `json:"acceptControlMismatch"`
}

// upload is an upload as either form gives it.
type upload struct {
	profileID, recordType, format, fileName string
	content                                 []byte
	acceptMismatch                          bool
}

func (u *upload) validate(is *issues, maxBytes int64) {
	if u.profileID != "" {
		if _, err := uuid.Parse(u.profileID); err != nil {
			is.Add([]string{"importProfileId"}, "Must be an import profile id (a UUID).")
		}
	}
	if u.recordType != "" && !slices.Contains(importer.RecordTypes, u.recordType) {
		is.Add([]string{"recordType"}, "Must be one of %s.", strings.Join(importer.RecordTypes, ", "))
	}
	if u.format != "" && !slices.Contains(importer.Formats, u.format) {
		is.Add([]string{"format"}, "Must be one of %s (or omitted: recognized from the content).", strings.Join(importer.Formats, ", "))
	}
	switch n := validate.Chars(strings.TrimSpace(u.fileName)); {
	case n == 0:
		is.Add([]string{"originalFileName"}, "Required: the file's name, as it came from the bank.")
	case n > 255:
		is.Add([]string{"originalFileName"}, "Must be at most 255 characters.")
	}
	switch {
	case len(u.content) == 0:
		is.Add([]string{"content"}, "The file is empty.")
	case int64(len(u.content)) > maxBytes:
		is.Add([]string{"content"}, "The file is %d bytes; the limit is %s.", len(u.content), humanBytes(maxBytes))
	}
}

// readUpload reads a multipart upload (a "file" part and the same fields
// as form values) or the JSON form.
func (s *server) readUpload(c *gin.Context) (upload, bool) {
	mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		var req importBatchJSONRequest
		if !s.bindJSON(c, &req) {
			return upload{}, false
		}
		u := upload{profileID: deref(req.ImportProfileID), recordType: deref(req.RecordType), format: deref(req.Format),
			fileName: req.OriginalFileName, acceptMismatch: req.AcceptControlMismatch}
		var is issues
		switch {
		case req.Content != nil && req.ContentBase64 != nil:
			is.Add([]string{"contentBase64"}, "Give content (text) or contentBase64 (bytes), not both.")
		case req.Content != nil:
			u.content = []byte(*req.Content)
		case req.ContentBase64 != nil:
			b, err := base64.StdEncoding.DecodeString(*req.ContentBase64)
			if err != nil {
				is.Add([]string{"contentBase64"}, "Must be standard base64.")
			}
			u.content = b
		}
		if err := invalid(is); err != nil {
			abort(c, err)
			return upload{}, false
		}
		return u, true
	}
	body, err := s.readBody(c)
	if err != nil {
		abort(c, err)
		return upload{}, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var u upload
	var is issues
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			abort(c, NewError(http.StatusBadRequest, CodeInvalidRequest, "The multipart body cannot be read: %s.", err.Error()))
			return upload{}, false
		}
		value, err := io.ReadAll(part)
		if err != nil {
			abort(c, NewError(http.StatusBadRequest, CodeInvalidRequest, "The multipart body cannot be read: %s.", err.Error()))
			return upload{}, false
		}
		switch name := part.FormName(); name {
		case "file":
			files++
			u.content = value
			if u.fileName == "" {
				u.fileName = part.FileName()
			}
		case "importProfileId":
			u.profileID = string(value)
		case "recordType":
			u.recordType = string(value)
		case "format":
			u.format = string(value)
		case "originalFileName":
			u.fileName = string(value)
		case "acceptControlMismatch":
			switch string(value) {
			case "true":
				u.acceptMismatch = true
			case "false":
			default:
				is.Add([]string{name}, "Must be true or false.")
			}
		default:
			is.Add([]string{name}, "Unknown form field %q; this route takes: file, importProfileId, recordType, format, originalFileName, acceptControlMismatch.", name)
		}
	}
	if files != 1 {
		is.Add([]string{"file"}, "Send exactly one file part named \"file\" (got %d).", files)
	}
	if err := invalid(is); err != nil {
		abort(c, err)
		return upload{}, false
	}
	return u, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// importBatchResponse is a batch, and whether the same content had come in
// before (then the stored batch is answered, 200).
type importBatchResponse struct {
	resource.ImportBatch
	Duplicate bool `json:"duplicate"`
}

func (s *server) createImportBatch(c *gin.Context) {
	u, ok := s.readUpload(c)
	if !ok {
		return
	}
	var is issues
	u.validate(&is, s.opts.MaxImportBytes)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p := mustPrincipal(c)
	in := importer.Upload{OrganizationID: p.OrganizationID, RecordType: u.recordType, Format: u.format,
		FileName: strings.TrimSpace(u.fileName), Content: u.content, CreatedBy: actor(p), AcceptControlMismatch: u.acceptMismatch}
	if u.profileID != "" {
		id := uuid.MustParse(u.profileID)
		in.ProfileID = &id
	}
	res, err := s.imports.Submit(c.Request.Context(), in, completeWith(c,
		func(r importer.Submitted) int {
			if r.Duplicate {
				return http.StatusOK
			}
			return http.StatusCreated
		},
		plain(func(r importer.Submitted) any {
			return importBatchResponse{ImportBatch: resource.RenderImportBatch(r.Batch), Duplicate: r.Duplicate}
		}), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if res.Job != nil {
		s.enqueueLater(c.Request.Context(), *res.Job)
	}
	respondCompleted(c)
}

var importStatuses = []string{importer.StatusQueued, importer.StatusProcessing, importer.StatusCompleted, importer.StatusFailed}

func (s *server) listImportBatches(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "status")
	st := q.enum("status", importStatuses)
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, total, err := s.imports.ListBatches(c.Request.Context(), mustPrincipal(c).OrganizationID, st, pg)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, resource.RenderImportBatch, func(b db.ImportBatch) (time.Time, uuid.UUID) { return b.CreatedAt, b.ID })
}

// importRowJSON is a batch's row: the raw record, with its place in the
// file and whether it was valid.
type importRowJSON struct {
	resource.RawRecord
	ValidationStatus *string         `json:"validationStatus"`
	ValidationErrors json.RawMessage `json:"validationErrors"`
	PaymentIntentID  *string         `json:"paymentIntentId"`
}

func renderImportRow(r db.RawRecord) importRowJSON {
	errs := json.RawMessage(r.ValidationErrors)
	if len(errs) == 0 {
		errs = json.RawMessage("[]")
	}
	return importRowJSON{RawRecord: resource.RenderRawRecord(r), ValidationStatus: r.ValidationStatus, ValidationErrors: errs,
		PaymentIntentID: resource.UUIDStr(r.PaymentIntentID)}
}

// listImportRows pages a batch's rows in file order; its cursor is the
// last row number seen.
func (s *server) listImportRows(c *gin.Context) {
	id, ok := pathID(c, "Import batch")
	if !ok {
		return
	}
	var is issues
	q := listQuery(c, &is, "validationStatus")
	validation := q.enum("validationStatus", []string{"valid", "invalid"})
	// Rows are small: pages may be larger than other lists'.
	limit, offset := parseLimitOffset(c, &is, 50, 500)
	after := int32(0)
	if v, ok := c.GetQuery("cursor"); ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			is.Add([]string{"cursor"}, "Must be the nextCursor of a previous page.")
		}
		after = int32(n)
	}
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, total, err := s.imports.Rows(c.Request.Context(), mustPrincipal(c).OrganizationID, id, validation, after, limit, offset)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	resp := listResponse[importRowJSON]{Items: resource.MapSlice(rows, renderImportRow), Total: total, Limit: limit, Offset: offset}
	if len(rows) == limit {
		resp.NextCursor = strconv.Itoa(int(*rows[len(rows)-1].RowNumber))
	}
	c.JSON(http.StatusOK, resp)
}
