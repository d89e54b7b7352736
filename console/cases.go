package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/txn"
	"github.com/reconlayer/reconlayer/internal/validate"
)

const casesPath = Prefix + "/cases"

// routeCases adds the Cases page group: the filterable list, a case's page,
// and the actions people take on a case. The actions call the services the
// api's case routes call, with the signed-in user as the audit actor.
// Forms cannot send DELETE, so unlinking is a POST of its own.
func (s *Console) routeCases(g *gin.RouterGroup) {
	g.GET("/cases", s.casesPage)
	g.GET("/cases/:id", s.casePage)
	g.POST("/cases/:id/notes", s.addCaseNote)
	g.POST("/cases/:id/resolve", s.caseStatusAction("resolve", (*cases.Service).Resolve))
	g.POST("/cases/:id/reopen", s.caseStatusAction("reopen", (*cases.Service).Reopen))
	g.POST("/cases/:id/archive", s.caseStatusAction("archive", (*cases.Service).Archive))
	g.POST("/cases/:id/rerun", s.rerunCase)
	g.POST("/cases/:id/links", s.linkCaseLeg)
	g.POST("/cases/:id/links/:linkId/unlink", s.unlinkCaseLeg)
}

// The values the list filters take, as the api's case list takes them.
var (
	caseStatusValues  = []string{cases.StatusOpen, cases.StatusResolved, cases.StatusArchived}
	reconStatusValues = []string{"unreconciled", "tentatively_reconciled", "reconciled"}
	verdictValues     = []string{recon.VerdictMatched, recon.VerdictMatchedWithException, recon.VerdictNeedsReview,
		recon.VerdictUnreconciled, recon.VerdictDelayed, recon.VerdictSLARisk}
	exceptionValues = []string{recon.ExceptionAmountMismatch, recon.ExceptionMissingLeg, recon.ExceptionFeeOutOfTolerance,
		recon.ExceptionFXVariance, recon.ExceptionDuplicateEvidence, recon.ExceptionConflictingStatus,
		recon.ExceptionCurrencyMismatch, recon.ExceptionTimingDelay, recon.ExceptionAmbiguousMatch}
)

// caseNotices are the status lines an action's redirect shows on the case
// page (?notice=key): fixed texts, as the foundation's notices.
var caseNotices = map[string]string{
	"note_added": "Note added.",
	"resolved":   "Case resolved.",
	"reopened":   "Case reopened.",
	"archived":   "Case archived.",
	"rerun":      "Case re-evaluated.",
	"linked":     "Evidence linked to the case.",
	"unlinked":   "Evidence unlinked from the case.",
}

// caseFilter is the list's query string: the api's parameter names, so a
// console URL reads like the api call that lists the same cases.
type caseFilter struct {
	Status, ReconciliationStatus, ExceptionType, SLARisk, ExternalReference string
	Verdicts                                                                []string
	Limit                                                                   int
}

// query is the filter as URL parameters, empty ones left out.
func (f caseFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "reconciliationStatus": f.ReconciliationStatus,
		"exceptionType": f.ExceptionType, "slaRisk": f.SLARisk, "externalReference": f.ExternalReference} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, v := range f.Verdicts {
		q.Add("verdict", v)
	}
	if f.Limit != pageSizes[0] {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// filtered says whether any filter is set (the page size is not one).
func (f caseFilter) filtered() bool {
	f.Limit = pageSizes[0]
	return len(f.query()) > 0
}

// casesData is what the list page shows.
type casesData struct {
	Filter        caseFilter
	Statuses      []option
	ReconStatuses []option
	Verdicts      []option
	Exceptions    []option
	SLARisk       []option
	PageSizes     []option
	Problems      formProblems
	Rows          []caseRow
	Total         int64
	Filtered      bool
	Continued     bool   // a page after the first
	FirstURL      string // the first page with the same filters
	NextURL       string // "" on the last page
}

// caseRow is one case of the list, every value ready to print.
type caseRow struct {
	ID, Ref                 string
	Status, ReconStatus     string
	VerdictKey, Verdict     string
	Exception               string
	Expected, Actual, Delta string
	DeltaNonZero            bool
	SLAAge                  string
	SLARisk                 bool
	CreatedAt               time.Time
}

// casesPage answers GET /console/cases: the organization's cases, newest
// first, filtered as the query says, one keyset page at a time (the api's
// list query and count, so a deep page costs what the first does).
func (s *Console) casesPage(c *gin.Context) {
	var probs formProblems
	f := caseFilter{
		Status:               enumParam(c, "status", "Status", caseStatusValues, &probs),
		ReconciliationStatus: enumParam(c, "reconciliationStatus", "Reconciliation status", reconStatusValues, &probs),
		ExceptionType:        enumParam(c, "exceptionType", "Exception", exceptionValues, &probs),
		SLARisk:              enumParam(c, "slaRisk", "SLA risk", []string{"true", "false"}, &probs),
		ExternalReference:    strings.TrimSpace(c.Query("externalReference")),
		Limit:                limitParam(c, &probs),
	}
	for _, v := range c.QueryArray("verdict") {
		switch v = strings.TrimSpace(v); {
		case v == "":
		case !slices.Contains(verdictValues, v):
			probs.add("Verdict: %q is not one of the values listed.", v)
		case !slices.Contains(f.Verdicts, v):
			f.Verdicts = append(f.Verdicts, v)
		}
	}
	if validate.Chars(f.ExternalReference) > 255 {
		probs.add("External reference: at most 255 characters.")
		f.ExternalReference = ""
	}
	pg := cursorParam(c, f.Limit, &probs)

	d := casesData{
		Filter:        f,
		Statuses:      options(caseStatusValues, humanize, f.Status),
		ReconStatuses: options(reconStatusValues, humanize, f.ReconciliationStatus),
		Verdicts:      options(verdictValues, verdictLabel, f.Verdicts...),
		Exceptions:    options(exceptionValues, humanize, f.ExceptionType),
		SLARisk: options([]string{"true", "false"}, func(v string) string {
			return map[string]string{"true": "At risk", "false": "Not at risk"}[v]
		}, f.SLARisk),
		PageSizes: pageSizeOptions(f.Limit),
		Problems:  probs,
		Filtered:  f.filtered(),
		Continued: pg.After != nil,
		FirstURL:  withQuery(casesPath, f.query()),
	}
	v := view{Title: "Cases", Section: "cases", Data: &d}
	if len(probs) > 0 {
		s.render(c, http.StatusBadRequest, "cases.html", v)
		return
	}

	p := db.ListCasesParams{
		OrganizationID: principal(c).OrganizationID, Verdicts: f.Verdicts,
		Status: orNil(f.Status), ReconciliationStatus: orNil(f.ReconciliationStatus),
		ExceptionType: orNil(f.ExceptionType), ExternalReference: orNil(f.ExternalReference),
		Lim: int32(pg.Limit),
	}
	if p.Verdicts == nil {
		p.Verdicts = []string{}
	}
	if f.SLARisk != "" {
		risk := f.SLARisk == "true"
		p.SlaRisk = &risk
	}
	p.AfterCreatedAt, p.AfterID = pg.Bound()
	rows, _, total, err := s.cases.List(c.Request.Context(), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Total = total
	d.Rows = make([]caseRow, len(rows))
	for i, r := range rows {
		d.Rows[i] = rowOf(r)
	}
	if len(rows) == pg.Limit {
		last := rows[len(rows)-1].ReconciliationCase
		q := f.query()
		q.Set("cursor", encodeListCursor(last.CreatedAt, last.ID))
		d.NextURL = withQuery(casesPath, q)
	}
	s.render(c, http.StatusOK, "cases.html", v)
}

func rowOf(r db.ListCasesRow) caseRow {
	cs, pi := r.ReconciliationCase, r.PaymentIntent
	row := caseRow{
		ID: cs.ID.String(), Ref: pi.ExternalReference,
		Status: humanize(cs.Status), ReconStatus: humanize(cs.ReconciliationStatus),
		VerdictKey: "none", Verdict: verdictLabel(""),
		Expected: cs.ExpectedAmount.String() + " " + cs.ExpectedCurrency,
		SLAAge:   minutesText(r.SlaAgeMinutes), SLARisk: cs.SlaRisk, CreatedAt: cs.CreatedAt,
	}
	if cs.Verdict != nil {
		row.VerdictKey, row.Verdict = *cs.Verdict, verdictLabel(*cs.Verdict)
	}
	if cs.ExceptionType != nil {
		row.Exception = humanize(*cs.ExceptionType)
	}
	if a := cs.ActualAmount.Dec(); a != nil {
		row.Actual = a.String() + " " + cs.ExpectedCurrency
	}
	if d := cs.UnexplainedDelta.Dec(); d != nil {
		row.Delta, row.DeltaNonZero = d.String()+" "+cs.ExpectedCurrency, !d.IsZero()
	}
	return row
}

// minutesText writes an age in minutes as a person reads it: 45 min,
// 3 h 20 min, 2 d 4 h.
func minutesText(m int32) string {
	switch {
	case m < 0:
		return "0 min"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 24*60:
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d d %d h", m/(24*60), m%(24*60)/60)
}

// caseForm is what a refused action re-renders the case page with: the
// message and what the person typed.
type caseForm struct {
	Action    string // the form's action (resolve, link, …), whose fields keep what was typed
	Error     string
	Note      string
	Reason    string
	FlowLegID string
}

// caseData is what a case's page shows.
type caseData struct {
	Case       resource.Case
	Intent     resource.IntentFull
	Verdict    string // label
	VerdictKey string
	Coverage   []labelValue
	Fees       []feeLine
	Delta      *string
	DeltaOff   bool // an unexplained delta other than zero
	Legs       []legView
	Links      []linkView
	Timeline   []auditView
	SLAAge     string
	Can        caseActions
	Form       caseForm
	AuditURL   string
}

type labelValue struct{ Label, Value, Key string }

// feeLine is a line of the fee decomposition: what the expected amount
// loses on its way to the unexplained delta.
type feeLine struct {
	Label, Value string
	Sign         string // "−" for what is subtracted
}

type legView struct {
	resource.FlowLeg
	Reference string // the leg's identifying reference, whichever it has
}

type linkView struct {
	resource.MatchLink
	Leg        string // the leg as a person recognizes it
	CanUnlink  bool
	CanConfirm bool
}

// caseActions says which actions the case's status allows (the service
// checks again: a stale page gets its message).
type caseActions struct {
	Resolve, Reopen, Archive, Rerun, Link bool
}

// casePage answers GET /console/cases/{id}.
func (s *Console) casePage(c *gin.Context) {
	id, ok := s.caseID(c)
	if !ok {
		return
	}
	s.renderCase(c, id, http.StatusOK, caseForm{}, caseNotices[c.Query("notice")])
}

// caseID reads the case id of the path; a malformed one is the 404 page.
func (s *Console) caseID(c *gin.Context) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		s.fail(c, errNotFound)
		return uuid.Nil, false
	}
	return id, true
}

// renderCase reads the case as the api's GET /v1/reconciliation-cases/{id}
// does and renders its page.
func (s *Console) renderCase(c *gin.Context, id uuid.UUID, status int, form caseForm, note string) {
	b, err := s.cases.Get(c.Request.Context(), principal(c).OrganizationID, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := caseDataOf(b, form, session(c))
	s.render(c, status, "case.html", view{Title: "Case " + d.Case.PaymentIntent.ExternalReference, Section: "cases", Notice: note, Data: d})
}

func caseDataOf(b cases.Bundle, form caseForm, me consoleauth.Session) caseData {
	cs := resource.CaseOf(b)
	d := caseData{
		Case: cs, Intent: resource.RenderIntentFull(b.Row.PaymentIntent), Form: form,
		VerdictKey: "none", Verdict: verdictLabel(""), SLAAge: minutesText(cs.SLAAgeMinutes),
		AuditURL: Prefix + "/audit?caseId=" + cs.ID,
	}
	if cs.Verdict != nil {
		d.VerdictKey, d.Verdict = *cs.Verdict, verdictLabel(*cs.Verdict)
	}
	cov := cs.EvidenceCoverage
	for _, kv := range [][2]string{{"Expected (the intent)", cov.Expected}, {"Provider", cov.Provider},
		{"Chain", cov.Chain}, {"Bank", cov.Bank}, {"File", cov.File}} {
		d.Coverage = append(d.Coverage, labelValue{Label: kv[0], Value: humanize(kv[1]), Key: kv[1]})
	}
	cur := " " + cs.ExpectedCurrency
	money := func(v *string) string {
		if v == nil {
			return "—"
		}
		return *v + cur
	}
	d.Fees = []feeLine{
		{"Expected amount", cs.ExpectedAmount + cur, ""},
		{"Actual amount", money(cs.ActualAmount), "−"},
		{"Provider fee", money(cs.ProviderFee), "−"},
		{"Network fee", money(cs.NetworkFee), "−"},
		{"Developer fee", money(cs.DeveloperFee), "−"},
		{"FX spread", money(cs.FxSpread), "−"},
		{"Rounding delta", money(cs.RoundingDelta), "−"},
	}
	if cs.UnexplainedDelta != nil {
		v := *cs.UnexplainedDelta + cur
		d.Delta = &v
		d.DeltaOff = !b.Row.ReconciliationCase.UnexplainedDelta.Dec().IsZero()
	}
	legs := map[string]string{}
	for _, l := range cs.FlowLegs {
		lv := legView{FlowLeg: l, Reference: legReference(l)}
		d.Legs = append(d.Legs, lv)
		legs[l.ID] = humanize(l.Type) + " " + l.Amount + " " + l.Currency
	}
	archived := cs.Status == cases.StatusArchived
	for _, l := range b.Links {
		lv := linkView{MatchLink: resource.RenderLink(l), Leg: legs[l.FlowLegID.String()]}
		if lv.Leg == "" {
			lv.Leg = "Flow leg " + l.FlowLegID.String()
		}
		lv.CanUnlink = l.Status == "active" || l.Status == "suggested"
		lv.CanConfirm = l.Status == "suggested" && !archived
		d.Links = append(d.Links, lv)
	}
	for _, e := range cs.AuditEvents {
		d.Timeline = append(d.Timeline, auditViewOf(e, me))
	}
	d.Can = caseActions{
		Resolve: cs.Status == cases.StatusOpen,
		Reopen:  cs.Status == cases.StatusResolved || archived,
		Archive: !archived,
		Rerun:   !archived,
		Link:    !archived,
	}
	return d
}

// shortID is the first block of a UUID, enough to tell ids apart on a page
// (the link holds the whole one).
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// legReference is what identifies a leg at its source.
func legReference(l resource.FlowLeg) string {
	for _, v := range []*string{l.ProviderTransferID, l.TxHash, l.BankReference, l.EndToEndID, l.ExternalReference} {
		if v != nil && *v != "" {
			return *v
		}
	}
	return ""
}

// auditView is an audit event as the timeline and the audit page print it.
type auditView struct {
	resource.AuditEvent
	Actor                  string // "You (email)" for the signed-in user
	ShortCase, ShortIntent string // the ids' first block, "" when none
	Payload                string // indented JSON, "" when there is none
}

func auditViewOf(e resource.AuditEvent, me consoleauth.Session) auditView {
	v := auditView{AuditEvent: e, Actor: e.Actor}
	if e.Actor == me.Actor() {
		v.Actor = "You (" + me.Email + ")"
	}
	if e.CaseID != nil {
		v.ShortCase = shortID(*e.CaseID)
	}
	if e.PaymentIntentID != nil {
		v.ShortIntent = shortID(*e.PaymentIntentID)
	}
	if len(e.Payload) > 0 && string(e.Payload) != "null" {
		var buf strings.Builder
		var out json.RawMessage
		if json.Unmarshal(e.Payload, &out) == nil {
			if b, err := json.MarshalIndent(out, "", "  "); err == nil {
				buf.Write(b)
			}
		}
		v.Payload = buf.String()
	}
	return v
}

// caseAction runs one action on the case of the path as the signed-in
// user: 303 to the case page with notice on success; the case page again
// with the service's message when the action is refused (409: the status
// does not allow it; nothing changed).
func (s *Console) caseAction(c *gin.Context, notice string, form caseForm, run func(ctx context.Context, a cases.Action) error) {
	id, ok := s.caseID(c)
	if !ok {
		return
	}
	a := cases.Action{OrganizationID: principal(c).OrganizationID, CaseID: id, Actor: session(c).Actor()}
	err := run(c.Request.Context(), a)
	if err == nil {
		c.Redirect(http.StatusSeeOther, casesPath+"/"+id.String()+"?notice="+notice)
		return
	}
	if msg, status, ok := refusal(err); ok {
		form.Error = msg
		s.renderCase(c, id, status, form, "")
		return
	}
	s.fail(c, err)
}

// refusal words a service's refusal of an action as the api's error
// envelope does; ok is false for errors that are not refusals.
func refusal(err error) (msg string, status int, ok bool) {
	var (
		transition *cases.TransitionError
		elsewhere  *matcher.LinkedElsewhereError
		linkState  *matcher.LinkStateError
	)
	switch {
	case errors.As(err, &transition):
		return fmt.Sprintf("Cannot %s a case that is %s.", transition.Action, transition.From), http.StatusConflict, true
	case errors.Is(err, matcher.ErrCaseArchived):
		return "Cannot link evidence to a case that is archived; reopen it first.", http.StatusConflict, true
	case errors.As(err, &elsewhere):
		return fmt.Sprintf("The flow leg is linked to case %s; unlink it there first.", elsewhere.CaseID), http.StatusConflict, true
	case errors.As(err, &linkState):
		return fmt.Sprintf("The match link is %s; only an active or suggested link can be removed.", linkState.Status), http.StatusConflict, true
	case errors.Is(err, matcher.ErrLegNotFound):
		return "No flow leg of this organization has that id.", http.StatusBadRequest, true
	}
	return "", 0, false
}

// invalidCaseForm re-renders the case page with a form's own problem.
func (s *Console) invalidCaseForm(c *gin.Context, form caseForm) {
	if id, ok := s.caseID(c); ok {
		s.renderCase(c, id, http.StatusBadRequest, form, "")
	}
}

// reasonField reads the optional reason of a status change or a link.
func reasonField(c *gin.Context) (*string, string, bool) {
	r := strings.TrimSpace(c.PostForm("reason"))
	if r == "" {
		return nil, r, true
	}
	return &r, r, validate.Chars(r) <= 1000
}

// addCaseNote is POST /console/cases/{id}/notes.
func (s *Console) addCaseNote(c *gin.Context) {
	note := strings.TrimSpace(c.PostForm("note"))
	form := caseForm{Action: "note", Note: note}
	if note == "" || validate.Chars(note) > 5000 {
		form.Error = "Write a note of 1 to 5000 characters."
		s.invalidCaseForm(c, form)
		return
	}
	s.caseAction(c, "note_added", form, func(ctx context.Context, a cases.Action) error {
		_, err := s.cases.AddNote(ctx, a, note, nil)
		return err
	})
}

// caseStatusAction is resolve, reopen or archive, with an optional reason.
func (s *Console) caseStatusAction(name string, do func(*cases.Service, context.Context, cases.Action, *string, txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error)) gin.HandlerFunc {
	notice := map[string]string{"resolve": "resolved", "reopen": "reopened", "archive": "archived"}[name]
	return func(c *gin.Context) {
		reason, raw, ok := reasonField(c)
		form := caseForm{Action: name, Reason: raw}
		if !ok {
			form.Error = "The reason may be at most 1000 characters."
			s.invalidCaseForm(c, form)
			return
		}
		s.caseAction(c, notice, form, func(ctx context.Context, a cases.Action) error {
			_, err := do(s.cases, ctx, a, reason, nil)
			return err
		})
	}
}

// rerunCase is POST /console/cases/{id}/rerun: evaluate again now.
func (s *Console) rerunCase(c *gin.Context) {
	s.caseAction(c, "rerun", caseForm{}, func(ctx context.Context, a cases.Action) error {
		_, err := s.cases.Rerun(ctx, a, nil)
		return err
	})
}

// linkCaseLeg is POST /console/cases/{id}/links: attach a free leg by hand,
// as the api's POST /v1/reconciliation-cases/{id}/links.
func (s *Console) linkCaseLeg(c *gin.Context) {
	raw := strings.TrimSpace(c.PostForm("flow_leg_id"))
	reason, rawReason, ok := reasonField(c)
	form := caseForm{Action: "link", FlowLegID: raw, Reason: rawReason}
	legID, err := uuid.Parse(raw)
	switch {
	case err != nil || len(raw) != 36:
		form.Error = "Flow leg: enter the id of a flow leg (a UUID such as 0b7c…-…)."
	case !ok:
		form.Error = "The reason may be at most 1000 characters."
	}
	if form.Error != "" {
		s.invalidCaseForm(c, form)
		return
	}
	s.caseAction(c, "linked", form, func(ctx context.Context, a cases.Action) error {
		_, err := s.links.Link(ctx, a.OrganizationID, a.CaseID, legID, a.Actor, reason, nil)
		return err
	})
}

// unlinkCaseLeg is POST /console/cases/{id}/links/{linkId}/unlink, the
// api's DELETE /v1/reconciliation-cases/{id}/links/{linkId}.
func (s *Console) unlinkCaseLeg(c *gin.Context) {
	linkID, err := uuid.Parse(c.Param("linkId"))
	if err != nil {
		s.fail(c, errNotFound)
		return
	}
	s.caseAction(c, "unlinked", caseForm{}, func(ctx context.Context, a cases.Action) error {
		_, err := s.links.Unlink(ctx, a.OrganizationID, a.CaseID, linkID, a.Actor, nil)
		return err
	})
}
