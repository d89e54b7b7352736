package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// Ledger runs (seed 003, DESIGN §5) speak snake_case.

// routeLedgers registers /v1/ledgers/...
func (s *server) routeLedgers(v1 *gin.RouterGroup) {
	read, write := requireScope("ledgers:read"), requireScope("ledgers:write")
	lg := v1.Group("/ledgers")
	lg.POST("", write, s.idempotent, s.createLedger)
	lg.GET("", read, s.listLedgers)
	lg.GET("/accounts", read, s.listAllLedgerAccounts)
	lg.GET("/:id", read, byID("Ledger", s.ledgers.GetLedger, resource.RenderLedger))
	lg.POST("/:id/accounts", write, s.idempotent, s.createLedgerAccount)
	lg.GET("/:id/accounts", read, s.listLedgerAccounts)
	lg.POST("/:id/entries", write, bodyLimit(16<<20), s.idempotent, s.addLedgerEntries)
	lg.GET("/:id/entries", read, s.listLedgerEntries)
	lg.POST("/:id/reconcile", write, s.idempotent, s.legacyReconcile)

	rec := lg.Group("/reconciliation")
	rec.POST("/runs", write, s.idempotencyKeyField, s.idempotent, s.createRun)
	rec.GET("/runs", read, s.listRuns)
	rec.GET("/runs/:runID", read, s.getRun)
	rec.PATCH("/runs/:runID", write, s.updateRun)
	rec.DELETE("/runs/:runID", write, s.deleteRun)
	rec.POST("/runs/:runID/sources/upload", write, bodyLimit(s.opts.MaxImportBytes+(1<<20)), s.idempotencyKeyField, s.idempotent, s.uploadSource)
	rec.GET("/runs/:runID/sources", read, s.listSources)
	rec.DELETE("/runs/:runID/sources/:fileID", write, s.deleteSource)
	rec.POST("/runs/:runID/auto-match", write, s.idempotent, s.autoMatch)
	rec.POST("/runs/:runID/manual-match", write, s.idempotent, s.manualMatch)
	rec.GET("/runs/:runID/matches", read, s.listMatches)
	rec.GET("/runs/:runID/items", read, s.listItems)
	rec.GET("/runs/:runID/gl-only", read, s.listGL(true))
	rec.GET("/runs/:runID/gl-all", read, s.listGL(false))
	rec.GET("/runs/:runID/discrepancies", read, s.listDiscrepancies)
	rec.POST("/matches/:matchID/accept", write, s.idempotent, s.decideMatch(true))
	rec.POST("/matches/:matchID/reject", write, s.idempotent, s.decideMatch(false))
	rec.PATCH("/matches/:matchID/note", write, s.noteMatch)
	rec.POST("/items/:itemID/close", write, s.idempotent, s.closeItem)
	rec.POST("/items/:itemID/reopen", write, s.idempotent, s.reopenItem)
	rec.PATCH("/discrepancies/:discrepancyID", write, s.updateDiscrepancy)
}

// idempotencyKeyField lets the request's own idempotency_key — a JSON
// body's field or a multipart form's, as seed 003 has them — stand for a
// missing Idempotency-Key header. The body is read once, within the route's
// limit (readBody keeps it for the handler).
func (s *server) idempotencyKeyField(c *gin.Context) {
	if c.GetHeader(headerIdemKey) != "" {
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		abort(c, err)
		return
	}
	var key string
	if mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt == "multipart/form-data" {
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for part, err := mr.NextPart(); err == nil; part, err = mr.NextPart() {
			if part.FormName() == "idempotency_key" {
				v, _ := io.ReadAll(io.LimitReader(part, 256))
				key = strings.TrimSpace(string(v))
				break
			}
		}
	} else {
		var probe struct {
			Key string `json:"idempotency_key"`
		}
		if json.Unmarshal(body, &probe) == nil {
			key = probe.Key
		}
	}
	if key != "" {
		c.Request.Header.Set(headerIdemKey, key)
	}
}

// CodeInvalidStateTransition: an action its object's status does not allow
// (close a running run, accept a rejected match, patch a reconciled
// expected payment).
const CodeInvalidStateTransition = "invalid_state_transition"

type createLedgerRequest struct {
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Currency    *string        `json:"currency"`
	Metadata    map[string]any `json:"metadata"`
}

func (r *createLedgerRequest) validate(is *issues) {
	if strings.TrimSpace(r.Name) == "" || validate.Chars(r.Name) > 200 {
		is.Add([]string{"name"}, "Required; 1 to 200 characters.")
	}
	validate.OptString(r.Description, []string{"description"}, 1000, is)
	if r.Currency != nil {
		validate.Currency(*r.Currency, []string{"currency"}, is)
	}
	validate.Metadata(r.Metadata, is)
}

func (s *server) createLedger(c *gin.Context) {
	var req createLedgerRequest
	if !s.bindJSON(c, &req) {
		return
	}
	meta, _ := json.Marshal(orEmptyMap(req.Metadata))
	_, err := s.ledgers.CreateLedger(c.Request.Context(), mustPrincipal(c).OrganizationID,
		ledger.LedgerInput{Name: strings.TrimSpace(req.Name), Description: req.Description, Currency: req.Currency, Metadata: meta},
		completeWith(c, status[db.Ledger](http.StatusCreated), plain(func(l db.Ledger) any { return resource.RenderLedger(l) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (s *server) listLedgers(c *gin.Context) {
	limit, offset, ok := pageParams(c, nil)
	if !ok {
		return
	}
	rows, total, err := s.ledgers.ListLedgers(c.Request.Context(), mustPrincipal(c).OrganizationID, limit, offset)
	respondPage(c, rows, total, err, limit, offset, resource.RenderLedger)
}

// pageParams reads a list's limit and offset and, through filters, its
// other allowed parameters; false (answered 400) when any is bad.
func pageParams(c *gin.Context, filters func(query), allowed ...string) (limit, offset int, ok bool) {
	var is issues
	q := listQuery(c, &is, append(allowed, "limit", "offset")...)
	if filters != nil {
		filters(q)
	}
	limit, offset = parseLimitOffset(c, &is, 50, 1000)
	if err := invalid(is); err != nil {
		abort(c, err)
		return 0, 0, false
	}
	return limit, offset, true
}

// noParams answers 400 for a list that takes no query parameters but was
// given some.
func noParams(c *gin.Context) bool {
	var is issues
	listQuery(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return false
	}
	return true
}

// respondPage answers a page of rows (or the error that read them).
func respondPage[T, J any](c *gin.Context, rows []T, total int64, err error, limit, offset int, render func(T) J) {
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, listResponse[J]{Items: resource.MapSlice(rows, render), Total: total, Limit: limit, Offset: offset})
}

// respondAll answers a whole, unpaged list.
func respondAll[T, J any](c *gin.Context, rows []T, err error, render func(T) J) {
	respondPage(c, rows, int64(len(rows)), err, len(rows), 0, render)
}

type createAccountRequest struct {
	Name          string `json:"name"`
	Code          string `json:"code"`
	Currency      string `json:"currency"`
	NormalBalance string `json:"normal_balance"`
}

func (r *createAccountRequest) validate(is *issues) {
	if strings.TrimSpace(r.Name) == "" || validate.Chars(r.Name) > 200 {
		is.Add([]string{"name"}, "Required; 1 to 200 characters.")
	}
	if strings.TrimSpace(r.Code) == "" || validate.Chars(r.Code) > 64 {
		is.Add([]string{"code"}, "Required; 1 to 64 characters (the account's code in the chart of accounts).")
	}
	validate.Currency(r.Currency, []string{"currency"}, is)
	if r.NormalBalance != "" && r.NormalBalance != "debit" && r.NormalBalance != "credit" {
		is.Add([]string{"normal_balance"}, "Must be debit or credit.")
	}
}

func (s *server) createLedgerAccount(c *gin.Context) {
	id, ok := pathID(c, "Ledger")
	if !ok {
		return
	}
	var req createAccountRequest
	if !s.bindJSON(c, &req) {
		return
	}
	if req.NormalBalance == "" {
		req.NormalBalance = "debit"
	}
	_, err := s.ledgers.CreateAccount(c.Request.Context(), mustPrincipal(c).OrganizationID, id,
		ledger.AccountInput{Name: strings.TrimSpace(req.Name), Code: strings.TrimSpace(req.Code), Currency: req.Currency, NormalBalance: req.NormalBalance},
		completeWith(c, status[db.LedgerAccount](http.StatusCreated), plain(func(a db.LedgerAccount) any { return resource.RenderLedgerAccount(a) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listLedgerAccounts(c *gin.Context) {
	id, ok := pathID(c, "Ledger")
	if !ok || !noParams(c) {
		return
	}
	rows, err := s.ledgers.Accounts(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	respondAll(c, rows, err, resource.RenderLedgerAccount)
}

// listAllLedgerAccounts is GET /v1/ledgers/accounts: accounts with how
// many of their entries are unreconciled, optionally of one ledger.
func (s *server) listAllLedgerAccounts(c *gin.Context) {
	var is issues
	ledgerID := listQuery(c, &is, "ledger_id").uuid("ledger_id")
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, err := s.ledgers.AccountsWithUnreconciled(c.Request.Context(), mustPrincipal(c).OrganizationID, ledgerID)
	respondAll(c, rows, err, resource.RenderAccountWithUnreconciled)
}

type entryJSON struct {
	Account     string        `json:"account"`
	Direction   string        `json:"direction"`
	Amount      *money.Amount `json:"amount"`
	Currency    string        `json:"currency"`
	BookingDate string        `json:"booking_date"`
	Reference   *string       `json:"reference"`
	Description *string       `json:"description"`
	ExternalID  string        `json:"external_id"`
}

type addEntriesRequest struct {
	Entries []entryJSON `json:"entries"`

	parsed []ledger.EntryInput
}

func (r *addEntriesRequest) validate(is *issues) {
	switch {
	case len(r.Entries) == 0:
		is.Add([]string{"entries"}, "Required: 1 to %d entries.", ledger.MaxEntries)
		return
	case len(r.Entries) > ledger.MaxEntries:
		is.Add([]string{"entries"}, "At most %d entries per request; split the batch.", ledger.MaxEntries)
		return
	}
	seen := make(map[string]int, len(r.Entries))
	r.parsed = make([]ledger.EntryInput, len(r.Entries))
	for i, e := range r.Entries {
		at := func(f string) []string { return []string{"entries", validate.Index(i), f} }
		if e.Account == "" {
			is.Add(at("account"), "Required: the account's id or code.")
		}
		if e.Direction != "debit" && e.Direction != "credit" {
			is.Add(at("direction"), "Must be debit or credit.")
		}
		validate.Positive(e.Amount, at("amount"), true, is)
		validate.Currency(e.Currency, at("currency"), is)
		day, err := time.Parse(time.DateOnly, e.BookingDate)
		if err != nil {
			is.Add(at("booking_date"), "Required: a date as YYYY-MM-DD.")
		}
		validate.OptString(e.Reference, at("reference"), 255, is)
		validate.OptString(e.Description, at("description"), 1000, is)
		if e.ExternalID == "" || validate.Chars(e.ExternalID) > 255 {
			is.Add(at("external_id"), "Required; 1 to 255 characters, unique in the ledger.")
		} else if j, dup := seen[e.ExternalID]; dup {
			is.Add(at("external_id"), "Same as entries.%d.external_id: each entry needs its own.", j)
		}
		seen[e.ExternalID] = i
		if e.Amount != nil {
			r.parsed[i] = ledger.EntryInput{Account: e.Account, Direction: e.Direction, Amount: e.Amount.Decimal, Currency: e.Currency,
				BookingDate: day, Reference: e.Reference, Description: e.Description, ExternalID: e.ExternalID}
		}
	}
}

type addEntriesResponse struct {
	LedgerID string `json:"ledger_id"`
	Created  int    `json:"created"`
}

func (s *server) addLedgerEntries(c *gin.Context) {
	id, ok := pathID(c, "Ledger")
	if !ok {
		return
	}
	var req addEntriesRequest
	if !s.bindJSON(c, &req) {
		return
	}
	_, err := s.ledgers.AddEntries(c.Request.Context(), mustPrincipal(c).OrganizationID, id, req.parsed,
		completeWith(c, status[int](http.StatusCreated), plain(func(n int) any { return addEntriesResponse{LedgerID: id.String(), Created: n} }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listLedgerEntries(c *gin.Context) {
	id, ok := pathID(c, "Ledger")
	if !ok {
		return
	}
	var account *uuid.UUID
	limit, offset, ok := pageParams(c, func(q query) { account = q.uuid("account_id") }, "account_id")
	if !ok {
		return
	}
	rows, total, err := s.ledgers.Entries(c.Request.Context(), mustPrincipal(c).OrganizationID, id, account, limit, offset)
	respondPage(c, rows, total, err, limit, offset, resource.RenderLedgerEntry)
}

type createRunRequest struct {
	LedgerID       string  `json:"ledger_id"`
	AccountID      *string `json:"account_id"`
	Mode           string  `json:"mode"`
	SourceType     string  `json:"source_type"`
	IdempotencyKey *string `json:"idempotency_key"`
	Note           *string `json:"note"`
	WindowDays     *int    `json:"window_days"`

	ledger, account uuid.UUID
}

func (r *createRunRequest) validate(is *issues) {
	var err error
	if r.ledger, err = uuid.Parse(r.LedgerID); err != nil {
		is.Add([]string{"ledger_id"}, "Required: the ledger's id (a UUID).")
	}
	if r.AccountID != nil {
		if r.account, err = uuid.Parse(*r.AccountID); err != nil {
			is.Add([]string{"account_id"}, "Must be a ledger account id (a UUID), or omitted for every account of the ledger.")
		}
	}
	if r.Mode != ledger.ModeManual && r.Mode != ledger.ModeAutomatic {
		is.Add([]string{"mode"}, "Required; manual or automatic.")
	}
	if r.SourceType == "" {
		r.SourceType = "upload"
	}
	if validate.Chars(r.SourceType) > 64 {
		is.Add([]string{"source_type"}, "At most 64 characters.")
	}
	validate.OptString(r.IdempotencyKey, []string{"idempotency_key"}, 255, is)
	validate.OptString(r.Note, []string{"note"}, 1000, is)
	if r.WindowDays != nil && (*r.WindowDays < 0 || *r.WindowDays > 90) {
		is.Add([]string{"window_days"}, "Must be 0 to 90 (days either way an amount match may be booked apart).")
	}
}

func (s *server) createRun(c *gin.Context) {
	var req createRunRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	in := ledger.RunInput{LedgerID: req.ledger, Mode: req.Mode, SourceType: req.SourceType, Note: req.Note,
		IdempotencyKey: req.IdempotencyKey, WindowDays: 3, CreatedBy: actor(p)}
	if in.IdempotencyKey == nil {
		key := c.GetHeader(headerIdemKey)
		in.IdempotencyKey = &key
	}
	if req.AccountID != nil {
		in.AccountID = &req.account
	}
	if req.WindowDays != nil {
		in.WindowDays = *req.WindowDays
	}
	_, err := s.ledgers.CreateRun(c.Request.Context(), p.OrganizationID, in, completeWith(c,
		func(r ledger.RunCreated) int {
			if r.Created {
				return http.StatusCreated
			}
			return http.StatusOK // the run of this idempotency_key, as it is
		},
		plain(func(r ledger.RunCreated) any { return resource.RenderLedgerRun(r.Run) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) getRun(c *gin.Context) {
	id, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	r, err := s.ledgers.GetRun(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderLedgerRun(r))
}

var runStatuses = []string{ledger.RunPending, ledger.RunRunning, ledger.RunCompleted, ledger.RunFailed, ledger.RunClosed}

func (s *server) listRuns(c *gin.Context) {
	var f ledger.RunFilter
	limit, offset, ok := pageParams(c, func(q query) {
		f = ledger.RunFilter{LedgerID: q.uuid("ledger_id"), Status: q.enum("status", runStatuses)}
	}, "ledger_id", "status")
	if !ok {
		return
	}
	rows, total, err := s.ledgers.ListRuns(c.Request.Context(), mustPrincipal(c).OrganizationID, f, limit, offset)
	respondPage(c, rows, total, err, limit, offset, resource.RenderLedgerRun)
}

type updateRunRequest struct {
	Note   json.RawMessage `json:"note"`
	Status *string         `json:"status"`

	note    *string
	setNote bool
}

func (r *updateRunRequest) validate(is *issues) {
	if len(r.Note) > 0 {
		r.setNote = true
		if string(r.Note) != "null" {
			var n string
			if json.Unmarshal(r.Note, &n) != nil || validate.Chars(n) > 1000 {
				is.Add([]string{"note"}, "Must be a string of at most 1000 characters, or null to clear it.")
			} else {
				r.note = &n
			}
		}
	}
	if r.Status != nil && *r.Status != ledger.RunClosed {
		is.Add([]string{"status"}, "Only closed may be set: a run's other statuses follow from its work.")
	}
	if !r.setNote && r.Status == nil {
		is.Add(nil, "Give note and/or status.")
	}
}

func (s *server) updateRun(c *gin.Context) {
	id, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	var req updateRunRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	r, err := s.ledgers.UpdateRun(c.Request.Context(), p.OrganizationID, id, ledger.RunUpdate{SetNote: req.setNote, Note: req.note,
		Close: req.Status != nil, Actor: actor(p)})
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderLedgerRun(r))
}

func (s *server) deleteRun(c *gin.Context) {
	id, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	p := mustPrincipal(c)
	r, purge, err := s.ledgers.DeleteRun(c.Request.Context(), p.OrganizationID, id, actor(p))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	s.enqueueLater(c.Request.Context(), purge)
	c.JSON(http.StatusOK, resource.RenderLedgerRun(r))
}

type uploadResponse struct {
	SourceFile struct {
		ID    string `json:"id"`
		RunID string `json:"run_id"`
	} `json:"source_file"`
	Imported  *int   `json:"imported"`
	Status    string `json:"status"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error,omitempty"`
}

var runFormats = []string{string(statement.FormatCSV), string(statement.FormatCAMT052), string(statement.FormatCAMT053),
	string(statement.FormatCAMT054), string(statement.FormatBAI2), string(statement.FormatMT940), string(statement.FormatMT942)}

// uploadSource is POST .../sources/upload: store the file, have a worker
// parse it, and wait (bounded, Prefer as for evidence) for its count.
func (s *server) uploadSource(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	// An unknown run is 404 whatever the body.
	if _, err := s.ledgers.GetRun(c.Request.Context(), mustPrincipal(c).OrganizationID, runID); err != nil {
		abort(c, serviceError(err))
		return
	}
	mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "multipart/form-data" {
		abort(c, NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Upload the statement as multipart/form-data with a file part named file."))
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		abort(c, err)
		return
	}
	var (
		is                       issues
		content                  []byte
		fileName, format, idemKy string
		files                    int
	)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			abort(c, NewError(http.StatusBadRequest, CodeInvalidRequest, "The multipart body cannot be read: %s.", err.Error()))
			return
		}
		value, err := io.ReadAll(part)
		if err != nil {
			abort(c, NewError(http.StatusBadRequest, CodeInvalidRequest, "The multipart body cannot be read: %s.", err.Error()))
			return
		}
		switch name := part.FormName(); name {
		case "file":
			files++
			content, fileName = value, part.FileName()
		case "format":
			format = strings.TrimSpace(string(value))
		case "idempotency_key":
			idemKy = strings.TrimSpace(string(value))
		default:
			is.Add([]string{name}, "Unknown field; an upload takes file, format and idempotency_key.")
		}
	}
	switch {
	case files != 1:
		is.Add([]string{"file"}, "Required: exactly one file part named file.")
	case len(content) == 0:
		is.Add([]string{"file"}, "The file is empty.")
	case int64(len(content)) > s.opts.MaxImportBytes:
		is.Add([]string{"file"}, "The file is %d bytes; the limit is %s.", len(content), humanBytes(s.opts.MaxImportBytes))
	}
	if fileName == "" {
		fileName = "statement"
	}
	if format != "" && !slices.Contains(runFormats, format) {
		is.Add([]string{"format"}, "Must be one of %s (or omitted: recognized from the content).", strings.Join(runFormats, ", "))
	}
	if format == "" && len(content) > 0 {
		if f, ok := statement.Detect(content); ok {
			format = string(f)
		} else {
			format = string(statement.FormatCSV)
		}
	}
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p := mustPrincipal(c)
	ctx := c.Request.Context()
	pref := parsePrefer(c.Request.Header.Values("Prefer"), s.opts.EvidenceWait)
	var (
		channel string
		outcome <-chan []byte
		cancel  = func() {}
	)
	up := ledger.SourceUpload{RunID: runID, FileName: fileName, Format: format, Content: content, CreatedBy: actor(p)}
	if idemKy != "" {
		up.IdempotencyKey = &idemKy
	}
	if !pref.async && pref.wait > 0 {
		channel = s.waiter.Channel()
	}
	up.Notify = channel
	sub, err := s.ledgers.SubmitSource(ctx, p.OrganizationID, up, nil)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if channel != "" && sub.Job != nil {
		_, outcome, cancel = s.waiter.Register(sub.Source.ID.String())
	}
	defer cancel()
	var resp uploadResponse
	resp.SourceFile.ID, resp.SourceFile.RunID = sub.Source.ID.String(), sub.Source.RunID.String()
	resp.Status, resp.Duplicate = sub.Source.Status, sub.Duplicate
	if sub.Source.Status != "pending" {
		n := int(sub.Source.Imported)
		resp.Imported, resp.Error = &n, deref(sub.Source.Error)
	}
	if sub.Job != nil {
		s.enqueueLater(ctx, *sub.Job)
	}
	code := http.StatusCreated
	if sub.Duplicate {
		code = http.StatusOK
	} else {
		code = http.StatusAccepted
		var got ledger.SourceOutcome
		if awaitOutcome(ctx, outcome, pref.wait, &got) {
			code, resp.Status, resp.Imported, resp.Error = http.StatusCreated, got.Status, &got.Imported, got.Error
		}
	}
	if pref.applied != "" {
		c.Header("Preference-Applied", pref.applied)
	}
	if code == http.StatusAccepted {
		c.Header("Location", "/v1/ledgers/reconciliation/runs/"+runID.String()+"/sources")
	}
	s.respondClaimed(c, code, resp)
}

// respondClaimed answers v and records it for the request's
// Idempotency-Key, for handlers that answer after their write committed.
func (s *server) respondClaimed(c *gin.Context, code int, v any) {
	body, _ := json.Marshal(v)
	s.respondRaw(c, code, body)
}

func (s *server) listSources(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok || !noParams(c) {
		return
	}
	rows, err := s.ledgers.Sources(c.Request.Context(), mustPrincipal(c).OrganizationID, runID)
	respondAll(c, rows, err, resource.RenderRunSource)
}

func (s *server) deleteSource(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	fileID, ok := paramID(c, "fileID", "Source file")
	if !ok {
		return
	}
	p := mustPrincipal(c)
	src, err := s.ledgers.DeleteSource(c.Request.Context(), p.OrganizationID, runID, fileID, actor(p))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderRunSource(src))
}

type autoMatchResponse struct {
	RunID   string `json:"run_id"`
	Matched *int   `json:"matched"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
}

// autoMatch is POST .../auto-match: a worker matches the whole run; the
// api waits (bounded) for {matched: N}.
func (s *server) autoMatch(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	p := mustPrincipal(c)
	ctx := c.Request.Context()
	pref := parsePrefer(c.Request.Header.Values("Prefer"), s.opts.EvidenceWait)
	var (
		channel string
		outcome <-chan []byte
		cancel  = func() {}
	)
	if !pref.async && pref.wait > 0 {
		channel = s.waiter.Channel()
	}
	job, err := s.ledgers.RequestAutoMatch(ctx, p.OrganizationID, runID, actor(p), channel)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if channel != "" {
		_, outcome, cancel = s.waiter.Register(job.ID)
	}
	defer cancel()
	s.enqueueLater(ctx, job)
	resp, code := autoMatchResponse{RunID: runID.String(), Status: "queued"}, http.StatusAccepted
	var got ledger.AutoMatchOutcome
	if awaitOutcome(ctx, outcome, pref.wait, &got) {
		resp.Status, resp.Error = got.Status, got.Error
		resp.Matched, code = &got.Matched, http.StatusCreated
	}
	if pref.applied != "" {
		c.Header("Preference-Applied", pref.applied)
	}
	if code == http.StatusAccepted {
		c.Header("Location", "/v1/ledgers/reconciliation/runs/"+runID.String())
	}
	s.respondClaimed(c, code, resp)
}

type manualMatchRequest struct {
	SourceEntryIDs []string `json:"source_entry_ids"`
	LedgerEntryIDs []string `json:"ledger_entry_ids"`
	Note           *string  `json:"note"`

	items, entries []uuid.UUID
}

func parseIDs(ids []string, field string, is *issues) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ids))
	seen := map[uuid.UUID]bool{}
	for i, v := range ids {
		id, err := uuid.Parse(v)
		if err != nil {
			is.Add([]string{field, validate.Index(i)}, "Must be a UUID.")
			continue
		}
		if seen[id] {
			is.Add([]string{field, validate.Index(i)}, "Listed twice.")
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

func (r *manualMatchRequest) validate(is *issues) {
	if len(r.SourceEntryIDs) == 0 || len(r.SourceEntryIDs) > 100 {
		is.Add([]string{"source_entry_ids"}, "Required: 1 to 100 statement line ids of the run.")
	}
	if len(r.LedgerEntryIDs) == 0 || len(r.LedgerEntryIDs) > 100 {
		is.Add([]string{"ledger_entry_ids"}, "Required: 1 to 100 GL entry ids of the run's ledger.")
	}
	r.items = parseIDs(r.SourceEntryIDs, "source_entry_ids", is)
	r.entries = parseIDs(r.LedgerEntryIDs, "ledger_entry_ids", is)
	validate.OptString(r.Note, []string{"note"}, 1000, is)
}

func (s *server) manualMatch(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	var req manualMatchRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	m, err := s.ledgers.ManualMatch(c.Request.Context(), p.OrganizationID, runID, req.items, req.entries, req.Note, actor(p))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	s.respondClaimed(c, http.StatusCreated, resource.RenderLedgerMatch(m))
}

var matchStatuses = []string{ledger.MatchSuggested, ledger.MatchAccepted, ledger.MatchRejected}

func (s *server) listMatches(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	var status *string
	limit, offset, ok := pageParams(c, func(q query) { status = q.enum("status", matchStatuses) }, "status")
	if !ok {
		return
	}
	pg, err := s.ledgers.Matches(c.Request.Context(), mustPrincipal(c).OrganizationID, runID, status, limit, offset)
	respondPage(c, pg.Rows, pg.Total, err, limit, offset, resource.RenderRunMatch)
}

func (s *server) listItems(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	limit, offset, ok := pageParams(c, nil)
	if !ok {
		return
	}
	pg, err := s.ledgers.Items(c.Request.Context(), mustPrincipal(c).OrganizationID, runID, limit, offset)
	respondPage(c, pg.Rows, pg.Total, err, limit, offset, resource.RenderRunItem)
}

func (s *server) listGL(freeOnly bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		runID, ok := paramID(c, "runID", "Reconciliation run")
		if !ok {
			return
		}
		limit, offset, ok := pageParams(c, nil)
		if !ok {
			return
		}
		pg, err := s.ledgers.GLEntries(c.Request.Context(), mustPrincipal(c).OrganizationID, runID, freeOnly, limit, offset)
		respondPage(c, pg.Rows, pg.Total, err, limit, offset, resource.RenderRunGLEntry)
	}
}

var (
	discrepancyTypes    = []string{"amount_mismatch", "missing_in_ledger", "missing_in_statement", "duplicate", "date_mismatch", "balance_mismatch"}
	discrepancyStatuses = []string{"open", "in_review", "closed"}
)

func (s *server) listDiscrepancies(c *gin.Context) {
	runID, ok := paramID(c, "runID", "Reconciliation run")
	if !ok {
		return
	}
	var f ledger.DiscrepancyFilter
	limit, offset, ok := pageParams(c, func(q query) {
		f = ledger.DiscrepancyFilter{Type: q.enum("type", discrepancyTypes), Status: q.enum("status", discrepancyStatuses)}
	}, "type", "status")
	if !ok {
		return
	}
	pg, err := s.ledgers.Discrepancies(c.Request.Context(), mustPrincipal(c).OrganizationID, runID, f, limit, offset)
	respondPage(c, pg.Rows, pg.Total, err, limit, offset, resource.RenderLedgerDiscrepancy)
}

func (s *server) decideMatch(accept bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := paramID(c, "matchID", "Match")
		if !ok {
			return
		}
		p := mustPrincipal(c)
		m, err := s.ledgers.DecideMatch(c.Request.Context(), p.OrganizationID, id, accept, actor(p))
		if err != nil {
			abort(c, serviceError(err))
			return
		}
		s.respondClaimed(c, http.StatusOK, resource.RenderLedgerMatch(m))
	}
}

type matchNoteRequest struct {
	Note json.RawMessage `json:"note"`

	note *string
}

func (r *matchNoteRequest) validate(is *issues) {
	r.note = optionalNote(r.Note, is)
}

// optionalNote reads a note that must be given: a string of 1 to 1000
// characters, or null to clear it.
func optionalNote(raw json.RawMessage, is *issues) *string {
	switch {
	case len(raw) == 0:
		is.Add([]string{"note"}, "Required: the note (1 to 1000 characters), or null to clear it.")
	case string(raw) == "null":
	default:
		var n string
		if json.Unmarshal(raw, &n) != nil || strings.TrimSpace(n) == "" || validate.Chars(n) > 1000 {
			is.Add([]string{"note"}, "Must be 1 to 1000 characters, or null to clear it.")
			return nil
		}
		return &n
	}
	return nil
}

func (s *server) noteMatch(c *gin.Context) {
	id, ok := paramID(c, "matchID", "Match")
	if !ok {
		return
	}
	var req matchNoteRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	m, err := s.ledgers.NoteMatch(c.Request.Context(), p.OrganizationID, id, req.note, actor(p))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderLedgerMatch(m))
}

type closeItemRequest struct {
	LedgerID *string `json:"ledger_id"`
	Reason   string  `json:"reason"`
	Note     *string `json:"note"`
}

func (r *closeItemRequest) validate(is *issues) {
	if r.LedgerID != nil {
		if _, err := uuid.Parse(*r.LedgerID); err != nil {
			is.Add([]string{"ledger_id"}, "Must be the ledger's id (a UUID).")
		}
	}
	if strings.TrimSpace(r.Reason) == "" || validate.Chars(r.Reason) > 100 {
		is.Add([]string{"reason"}, "Required; 1 to 100 characters, such as manual_review or bank_fee.")
	}
	validate.OptString(r.Note, []string{"note"}, 1000, is)
}

func (s *server) closeItem(c *gin.Context) {
	id, ok := paramID(c, "itemID", "Item")
	if !ok {
		return
	}
	var req closeItemRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	var ledgerID *uuid.UUID
	if req.LedgerID != nil {
		l := uuid.MustParse(*req.LedgerID)
		ledgerID = &l
	}
	it, err := s.ledgers.CloseItem(c.Request.Context(), p.OrganizationID, id, ledgerID, strings.TrimSpace(req.Reason), req.Note, actor(p))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	s.respondClaimed(c, http.StatusOK, resource.RenderLedgerRunItem(it))
}

func (s *server) reopenItem(c *gin.Context) {
	id, ok := paramID(c, "itemID", "Item")
	if !ok {
		return
	}
	var req struct{}
	if !s.bindOptionalJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	it, err := s.ledgers.ReopenItem(c.Request.Context(), p.OrganizationID, id, actor(p))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	s.respondClaimed(c, http.StatusOK, resource.RenderLedgerRunItem(it))
}

// legacyReconcile is POST /v1/ledgers/{id}/reconcile: auto-match the
// ledger's newest run that is not closed, as the reconcile trigger of old
// did; 409 when it has none.
func (s *server) legacyReconcile(c *gin.Context) {
	id, ok := pathID(c, "Ledger")
	if !ok {
		return
	}
	r, err := s.ledgers.LatestOpenRun(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if errors.Is(err, ledger.ErrRunNotFound) {
		abort(c, NewError(http.StatusConflict, CodeInvalidStateTransition,
			"The ledger has no open run to reconcile; create one (POST /v1/ledgers/reconciliation/runs) and upload a statement."))
		return
	}
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.Params = append(c.Params, gin.Param{Key: "runID", Value: r.ID.String()})
	s.autoMatch(c)
}

type updateDiscrepancyRequest struct {
	Status *string         `json:"status"`
	Note   json.RawMessage `json:"note"`

	note *string
}

func (r *updateDiscrepancyRequest) validate(is *issues) {
	if r.Status != nil && !slices.Contains(discrepancyStatuses, *r.Status) {
		is.Add([]string{"status"}, "Must be one of %s.", strings.Join(discrepancyStatuses, ", "))
	}
	if len(r.Note) > 0 {
		r.note = optionalNote(r.Note, is)
	}
	if r.Status == nil && len(r.Note) == 0 {
		is.Add(nil, "Give status and/or note.")
	}
}

// updateDiscrepancy is PATCH /v1/ledgers/reconciliation/discrepancies/{id}:
// review progress (open → in_review → closed, or back) and a note.
func (s *server) updateDiscrepancy(c *gin.Context) {
	id, ok := paramID(c, "discrepancyID", "Discrepancy")
	if !ok {
		return
	}
	var req updateDiscrepancyRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	d, err := s.ledgers.UpdateDiscrepancy(c.Request.Context(), p.OrganizationID, id, ledger.DiscrepancyUpdate{Status: req.Status,
		SetNote: len(req.Note) > 0, Note: req.note, Actor: actor(p)})
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderLedgerDiscrepancy(d))
}
