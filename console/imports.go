package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/page"
)

// The Imports page group: the organization's import batches, newest first,
// and one batch with its progress, the statements its file held and its raw
// records, invalid ones with their reasons.

const importsPath = Prefix + "/imports"

const (
	// batchesPerPage bounds the batch list; pages go on by keyset.
	batchesPerPage = 25
	// batchRowsPerPage bounds a batch's rows table; it goes on after the
	// last row number shown, as the api's rows list does.
	batchRowsPerPage = 50
	// payloadChars is how much of a row's payload the table shows.
	payloadChars = 240
	// maxUploadBytes is the largest file the upload form takes: the api's
	// default for import batches (api.Options.MaxImportBytes).
	maxUploadBytes = 50 << 20
	// profileChoices bounds the upload form's import profiles.
	profileChoices = 100
)

// importNotices are the batch page's status lines after an upload.
var importNotices = map[string]string{
	"uploaded":  "File uploaded: the batch is queued to be parsed.",
	"duplicate": "This file was uploaded before: this is its batch.",
}

func (s *Console) routeImports(in *gin.RouterGroup) {
	in.GET("/imports", s.listImports)
	in.POST("/imports", s.upload)
	in.GET("/imports/new", s.uploadPage)
	in.GET("/imports/:id", s.showImport)
}

var importStatuses = []string{importer.StatusQueued, importer.StatusProcessing, importer.StatusCompleted, importer.StatusFailed}

// queryOf is the non-empty values of kv (name, value, …) as a query.
func queryOf(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

// pathUUID reads the :id of a page's path; a malformed one is a page not
// found.
func pathUUID(c *gin.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

// actionRefused is what a page says when a service refuses an action for
// what the data is (400) or for its state (409); ok is false for any other
// error, which is the caller's to fail with.
func actionRefused(err error) (status int, msg string, ok bool) {
	var (
		in       *fault.InputError
		conflict *fault.ConflictError
		state    *fault.StateError
	)
	switch {
	case errors.As(err, &in):
		return http.StatusBadRequest, in.Msg, true
	case errors.As(err, &conflict):
		return http.StatusConflict, conflict.Msg, true
	case errors.As(err, &state):
		return http.StatusConflict, "Cannot " + state.Action + " a " + state.Object + " that is " + humanizeLower(state.Status) + ".", true
	}
	return 0, "", false
}

func humanizeLower(v string) string { return strings.ReplaceAll(v, "_", " ") }

// Batch list.

type batchListData struct {
	Statuses []option
	Status   string
	Problems formProblems
	Batches  []batchItem
	Total    int64
	Next     string // the next page's URL, "" on the last
	First    string // the first page's URL when this is not it
}

type batchItem struct {
	ID                             uuid.UUID
	FileName, Status, Format       string
	RecordType                     string
	Total, Valid, Invalid, Matched int64
	CreatedAt                      time.Time
	Error                          string
}

// StatusWords is the status in a sentence ("queued", "processing").
func (b batchItem) StatusWords() string { return humanizeLower(b.Status) }

func batchItemOf(b db.ImportBatch) batchItem {
	it := batchItem{ID: b.ID, FileName: b.OriginalFileName, Status: b.Status, Format: b.Format, RecordType: b.RecordType,
		Total: int64(b.TotalRows), Valid: int64(b.ValidRows), Invalid: int64(b.InvalidRows), Matched: int64(b.MatchedRows), CreatedAt: b.CreatedAt}
	if b.Error != nil {
		it.Error = *b.Error
	}
	return it
}

// listImports answers GET /console/imports: a page of batches, newest
// first, optionally of one status, continued by keyset as the api's list.
func (s *Console) listImports(c *gin.Context) {
	var probs formProblems
	status := enumParam(c, "status", "Status", importStatuses, &probs)
	pg := cursorParam(c, batchesPerPage, &probs)
	d := batchListData{Statuses: options(importStatuses, humanize, status), Status: status, Problems: probs}
	v := view{Title: "Imports", Section: "imports", Data: &d}
	if len(probs) > 0 {
		s.render(c, http.StatusBadRequest, "imports.html", v)
		return
	}
	// One row more than shown tells whether a next page exists.
	pg.Limit++
	rows, total, err := s.imports.ListBatches(c.Request.Context(), principal(c).OrganizationID, orNil(status), pg)
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Total = total
	if len(rows) > batchesPerPage {
		rows = rows[:batchesPerPage]
		last := rows[len(rows)-1]
		d.Next = withQuery(importsPath, queryOf("status", status, "cursor", encodeListCursor(last.CreatedAt, last.ID)))
	}
	if pg.After != nil {
		d.First = withQuery(importsPath, queryOf("status", status))
	}
	for _, b := range rows {
		d.Batches = append(d.Batches, batchItemOf(b))
	}
	s.render(c, http.StatusOK, "imports.html", v)
}

// One batch.

type batchData struct {
	Batch       batchItem
	ProfileID   string
	SizeBytes   int64
	CreatedBy   string
	StartedAt   *time.Time
	CompletedAt *time.Time
	UpdatedAt   time.Time
	Running     bool // queued or processing: the counters still move
	Statements  []statementSummary
	Warnings    []string

	Validation  string // the rows filter: "", valid or invalid
	Filters     []filterLink
	Rows        []batchRow
	RowsTotal   int64
	After       int32
	Next, First string
	Self        string // this page, to refresh it
}

// filterLink is one choice of a filter offered as links.
type filterLink struct {
	Label, URL string
	Current    bool
}

// statementSummary is what the batch read of one statement of its file.
type statementSummary struct {
	ID         string            `json:"id"`
	Format     string            `json:"format"`
	Account    string            `json:"account"`
	Currency   string            `json:"currency"`
	Sequence   string            `json:"sequence"`
	Opening    *statementBalance `json:"openingBalance"`
	Closing    *statementBalance `json:"closingBalance"`
	Entries    int64             `json:"entries"`
	Credits    string            `json:"credits"`
	Debits     string            `json:"debits"`
	Reconciles *bool             `json:"reconciles"`
	Difference *string           `json:"difference"`
}

// Check is "ok" when opening balance and entries add up to the closing
// balance, "off" when they do not, "" when the file states no balances.
func (s statementSummary) Check() string {
	switch {
	case s.Reconciles == nil:
		return ""
	case *s.Reconciles:
		return "ok"
	}
	return "off"
}

// Amount writes one of the statement's amounts in its currency's decimals.
func (s statementSummary) Amount(v string) string {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return v
	}
	return numberText(d, s.Currency)
}

// Off is how far the balances are apart.
func (s statementSummary) Off() string {
	if s.Difference == nil {
		return ""
	}
	return s.Amount(*s.Difference)
}

type statementBalance struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Date     string `json:"date"`
}

// batchRow is a raw record of a batch, as its table shows it.
type batchRow struct {
	Number      int32
	Status      string // valid or invalid
	MatchStatus string
	Payload     string
	Problems    []rowProblem
}

// rowProblem is one reason a row is invalid: where in the file (a line,
// a column or an element path), and what is wrong there.
type rowProblem struct {
	Where, Message string
}

// splitProblem separates a reason's position ("line 4", `line 3, column
// "amount" (amount)`, "line 12 (Ntry/Amt)") from its message; a reason that
// names none (the batch failed) is all message.
func splitProblem(p string) rowProblem {
	if strings.HasPrefix(p, "line ") {
		if where, msg, ok := strings.Cut(p, ": "); ok {
			return rowProblem{Where: where, Message: msg}
		}
	}
	return rowProblem{Message: p}
}

// payloadSummary is what was read of a row, on one line: its top-level
// fields with a value, amounts as "12.30 EUR", in name order, cut at
// payloadChars. The parser's own copy of the entry (payload) is left out.
func payloadSummary(raw []byte) string {
	var fields map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &fields) != nil {
		return ""
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		var v string
		switch x := fields[k].(type) {
		case string:
			v = x
		case float64, bool:
			v = fmt.Sprint(x)
		case map[string]any:
			amount, _ := x["amount"].(string)
			currency, _ := x["currency"].(string)
			if amount != "" {
				v = strings.TrimSpace(amount + " " + currency)
			}
		}
		if v != "" && k != "payload" {
			parts = append(parts, k+": "+v)
		}
	}
	out := strings.Join(parts, "; ")
	if utf8.RuneCountInString(out) > payloadChars {
		out = string([]rune(out)[:payloadChars]) + "…"
	}
	return out
}

// showImport answers GET /console/imports/:id: the batch, its statements
// and a page of its rows (all, valid or invalid ones) in file order.
func (s *Console) showImport(c *gin.Context) {
	id, err := pathUUID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	var probs formProblems
	validation := enumParam(c, "validationStatus", "Validation", []string{"valid", "invalid"}, &probs)
	var after int64
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			probs.add("This page link is damaged; start again from the first page.")
		}
		after = n
	}
	if len(probs) > 0 {
		// Only a hand-made link gets here: the page's own links are sound.
		s.errorPage(c, http.StatusBadRequest)
		return
	}
	ctx, org := c.Request.Context(), principal(c).OrganizationID
	b, err := s.imports.GetBatch(ctx, org, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, total, err := s.imports.Rows(ctx, org, id, orNil(validation), int32(after), batchRowsPerPage+1, 0)
	if err != nil {
		s.fail(c, err)
		return
	}
	self := importsPath + "/" + id.String()
	d := batchData{
		Batch: batchItemOf(b), SizeBytes: b.SizeBytes, CreatedBy: b.CreatedBy, StartedAt: b.StartedAt, CompletedAt: b.CompletedAt,
		UpdatedAt: b.UpdatedAt, Running: b.Status == importer.StatusQueued || b.Status == importer.StatusProcessing,
		Validation: validation, RowsTotal: total, After: int32(after),
		Self: withQuery(self, queryOf("validationStatus", validation, "cursor", c.Query("cursor"))),
	}
	if b.ProfileID != nil {
		d.ProfileID = b.ProfileID.String()
	}
	if len(b.Statements) > 0 {
		_ = json.Unmarshal(b.Statements, &d.Statements) // written by the worker; unreadable is none
	}
	if len(b.Warnings) > 0 {
		_ = json.Unmarshal(b.Warnings, &d.Warnings)
	}
	for _, f := range []struct{ value, label string }{{"", "All rows"}, {"invalid", "Invalid rows"}, {"valid", "Valid rows"}} {
		d.Filters = append(d.Filters, filterLink{Label: f.label, URL: withQuery(self, queryOf("validationStatus", f.value)) + "#rows", Current: f.value == validation})
	}
	if len(rows) > batchRowsPerPage {
		rows = rows[:batchRowsPerPage]
		d.Next = withQuery(self, queryOf("validationStatus", validation, "cursor", strconv.Itoa(int(*rows[len(rows)-1].RowNumber)))) + "#rows"
	}
	if after > 0 {
		d.First = withQuery(self, queryOf("validationStatus", validation)) + "#rows"
	}
	for _, r := range rows {
		row := batchRow{MatchStatus: r.MatchStatus, Payload: payloadSummary(r.Payload)}
		if r.RowNumber != nil {
			row.Number = *r.RowNumber
		}
		if r.ValidationStatus != nil {
			row.Status = *r.ValidationStatus
		}
		var problems []string
		if len(r.ValidationErrors) > 0 {
			_ = json.Unmarshal(r.ValidationErrors, &problems)
		}
		for _, p := range problems {
			row.Problems = append(row.Problems, splitProblem(p))
		}
		d.Rows = append(d.Rows, row)
	}
	s.render(c, http.StatusOK, "import.html", view{Title: "Import " + b.OriginalFileName, Section: "imports",
		Notice: importNotices[c.Query("notice")], Data: d})
}

// Upload.

type uploadData struct {
	Profiles, Formats, RecordTypes []option
	AcceptMismatch                 bool
	Problems                       formProblems
	MaxBytes                       string
}

// uploadForm is what the form was filled in with.
type uploadForm struct {
	profileID, format, recordType string
	acceptMismatch                bool
}

// uploadPage answers GET /console/imports/new: the upload form.
func (s *Console) uploadPage(c *gin.Context) {
	s.renderUpload(c, http.StatusOK, uploadForm{}, nil)
}

func (s *Console) renderUpload(c *gin.Context, status int, f uploadForm, probs formProblems) {
	profiles, _, err := s.imports.ListProfiles(c.Request.Context(), principal(c).OrganizationID, page.Page{Limit: profileChoices})
	if err != nil {
		s.fail(c, err)
		return
	}
	ids, names := make([]string, len(profiles)), make(map[string]string, len(profiles))
	for i, p := range profiles {
		ids[i], names[p.ID.String()] = p.ID.String(), p.Name+" ("+humanizeLower(p.RecordType)+")"
	}
	d := uploadData{
		Profiles:       options(ids, func(id string) string { return names[id] }, f.profileID),
		Formats:        options(importer.Formats, func(v string) string { return v }, f.format),
		RecordTypes:    options(importer.RecordTypes, humanize, f.recordType),
		AcceptMismatch: f.acceptMismatch, Problems: probs, MaxBytes: formatCount(maxUploadBytes >> 20),
	}
	s.render(c, status, "import_upload.html", view{Title: "Upload a file", Section: "imports", Data: d})
}

// upload is POST /console/imports: a multipart form with the file and what
// the api's multipart upload takes besides. A new batch goes to the worker
// at once; the same content again leads to the batch it made before.
func (s *Console) upload(c *gin.Context) {
	f := uploadForm{profileID: strings.TrimSpace(c.PostForm("importProfileId")), format: c.PostForm("format"),
		recordType: c.PostForm("recordType"), acceptMismatch: c.PostForm("acceptControlMismatch") == "true"}
	var probs formProblems
	u := importer.Upload{OrganizationID: principal(c).OrganizationID, Format: f.format, RecordType: f.recordType,
		CreatedBy: session(c).Actor(), AcceptControlMismatch: f.acceptMismatch}
	if f.profileID != "" {
		if id, err := uuid.Parse(f.profileID); err == nil {
			u.ProfileID = &id
		} else {
			probs.add("Import profile: choose one of the list.")
		}
	}
	if f.format != "" && !slices.Contains(importer.Formats, f.format) {
		probs.add("Format: choose one of the list.")
	}
	if f.recordType != "" && !slices.Contains(importer.RecordTypes, f.recordType) {
		probs.add("Record type: choose one of the list.")
	}
	switch fh, err := c.FormFile("file"); {
	case err != nil:
		probs.add("Choose the file to upload.")
	case fh.Size == 0:
		probs.add("The file %s is empty.", fh.Filename)
	case fh.Size > maxUploadBytes:
		probs.add("The file is %s bytes; the limit is %s MiB.", formatCount(fh.Size), formatCount(maxUploadBytes>>20))
	default:
		u.FileName = strings.TrimSpace(fh.Filename)
		if u.FileName == "" || utf8.RuneCountInString(u.FileName) > 255 {
			probs.add("The file needs a name of at most 255 characters.")
		}
		file, err := fh.Open()
		if err == nil {
			u.Content, err = io.ReadAll(file)
			_ = file.Close()
		}
		if err != nil {
			s.fail(c, fmt.Errorf("read uploaded file: %w", err))
			return
		}
	}
	if len(probs) > 0 {
		s.renderUpload(c, http.StatusBadRequest, f, probs)
		return
	}
	ctx := c.Request.Context()
	res, err := s.imports.Submit(ctx, u, nil)
	var input *importer.InputError
	switch {
	case errors.Is(err, importer.ErrProfileNotFound):
		s.renderUpload(c, http.StatusBadRequest, f, formProblems{"Import profile: choose one of the list."})
		return
	case errors.As(err, &input):
		s.renderUpload(c, http.StatusBadRequest, f, formProblems{input.Msg})
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	notice := "duplicate"
	if res.Job != nil {
		notice = "uploaded"
		enqCtx, cancel := context.WithTimeout(ctx, time.Second)
		if err := s.enqueuer.Enqueue(enqCtx, *res.Job); err != nil {
			s.logger.WarnContext(ctx, "console: enqueue import parse; left to the outbox sweeper", "task_id", res.Job.ID, "err", err.Error())
		}
		cancel()
	}
	c.Redirect(http.StatusSeeOther, withQuery(importsPath+"/"+res.Batch.ID.String(), url.Values{"notice": {notice}}))
}
