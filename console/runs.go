package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// The Ledger runs page group: the organization's ledger reconciliation runs
// and one run with its matches to accept or reject, its discrepancies, and
// its statement lines to close or reopen. Actions go through the service
// the api's /v1/ledgers routes use, audited with the signed-in user as
// actor.

const runsPath = Prefix + "/ledger-runs"

const (
	// runsPerPage bounds the run list (offset pages, as the api's).
	runsPerPage = 25
	// runSectionRows bounds each table of a run's page: matches, lines,
	// discrepancies, each paged on its own.
	runSectionRows = 50
	// ledgerChoices bounds the ledger filter's choices (newest first).
	ledgerChoices = 100
	// maxOffset keeps offsets of hand-made links sane.
	maxOffset = 10_000_000
)

var runStatuses = []string{ledger.RunPending, ledger.RunRunning, ledger.RunCompleted, ledger.RunFailed, ledger.RunClosed}

// runNotices are the run page's status lines after an action.
var runNotices = map[string]string{
	"match_accepted": "Match accepted.",
	"match_rejected": "Match rejected; its lines and GL entries are free again.",
	"item_closed":    "Line closed.",
	"item_reopened":  "Line reopened.",
}

func (s *Console) routeLedgerRuns(in *gin.RouterGroup) {
	in.GET("/ledger-runs", s.listRuns)
	in.GET("/ledger-runs/:id", s.showRun)
	in.POST("/ledger-runs/:id/matches/:matchID/accept", s.decideRunMatch(true))
	in.POST("/ledger-runs/:id/matches/:matchID/reject", s.decideRunMatch(false))
	in.POST("/ledger-runs/:id/items/:itemID/close", s.closeRunItem)
	in.POST("/ledger-runs/:id/items/:itemID/reopen", s.reopenRunItem)
}

// offsetParam reads an optional offset parameter.
func offsetParam(c *gin.Context, name string, probs *formProblems) int {
	v := c.Query(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxOffset {
		probs.add("This page link is damaged; start again from the first page.")
		return 0
	}
	return n
}

// Run list.

type runListData struct {
	Statuses []option
	Ledgers  []option
	Status   string
	LedgerID string
	Problems formProblems
	Runs     []runSummary
	Total    int64
	Offset   int
	Prev     string
	Next     string
}

type runSummary struct {
	ID                 uuid.UUID
	Ledger             string
	Mode, Status       string
	Matched            int64
	Error              string
	CreatedAt          time.Time
	CompletedAt        *time.Time
	CreatedBy          string
	WindowDays         int32
	Note               string
	AccountID          string
	Closed, Changeable bool
}

func runSummaryOf(r db.LedgerRun, ledgerName string) runSummary {
	it := runSummary{ID: r.ID, Ledger: ledgerName, Mode: r.Mode, Status: r.Status, Matched: int64(r.MatchedCount), CreatedAt: r.CreatedAt,
		CompletedAt: r.CompletedAt, CreatedBy: r.CreatedBy, WindowDays: r.WindowDays,
		Closed: r.Status == ledger.RunClosed, Changeable: r.Status != ledger.RunClosed}
	if it.Ledger == "" {
		it.Ledger = r.LedgerID.String()
	}
	if r.Error != nil {
		it.Error = *r.Error
	}
	if r.Note != nil {
		it.Note = *r.Note
	}
	if r.AccountID != nil {
		it.AccountID = r.AccountID.String()
	}
	return it
}

// listRuns answers GET /console/ledger-runs: a page of runs, newest first,
// filtered by status and ledger as the api's list.
func (s *Console) listRuns(c *gin.Context) {
	var probs formProblems
	status := enumParam(c, "status", "Status", runStatuses, &probs)
	ledgerID := strings.TrimSpace(c.Query("ledger_id"))
	var ledgerFilter *uuid.UUID
	if ledgerID != "" {
		id, err := uuid.Parse(ledgerID)
		if err != nil {
			probs.add("Ledger: %q is not a ledger id.", ledgerID)
			ledgerID = ""
		} else {
			ledgerFilter = &id
		}
	}
	offset := offsetParam(c, "offset", &probs)
	ctx, org := c.Request.Context(), principal(c).OrganizationID

	ledgers, _, err := s.ledgers.ListLedgers(ctx, org, ledgerChoices, 0)
	if err != nil {
		s.fail(c, err)
		return
	}
	names := make(map[uuid.UUID]string, len(ledgers))
	ids, labels := make([]string, len(ledgers)), make(map[string]string, len(ledgers))
	for i, l := range ledgers {
		names[l.ID] = l.Name
		ids[i], labels[l.ID.String()] = l.ID.String(), l.Name
	}
	d := runListData{
		Statuses: options(runStatuses, humanize, status),
		Ledgers:  options(ids, func(id string) string { return labels[id] }, ledgerID),
		Status:   status, LedgerID: ledgerID, Problems: probs, Offset: offset,
	}
	v := view{Title: "Ledger runs", Section: "ledger-runs", Data: &d}
	if len(probs) > 0 {
		s.render(c, http.StatusBadRequest, "ledger_runs.html", v)
		return
	}
	rows, total, err := s.ledgers.ListRuns(ctx, org, ledger.RunFilter{LedgerID: ledgerFilter, Status: orNil(status)}, runsPerPage, offset)
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Total = total
	for _, r := range rows {
		name, ok := names[r.LedgerID]
		if !ok {
			// A ledger older than the filter's choices.
			if l, err := s.ledgers.GetLedger(ctx, org, r.LedgerID); err == nil {
				name, names[r.LedgerID] = l.Name, l.Name
			}
		}
		d.Runs = append(d.Runs, runSummaryOf(r, name))
	}
	page := func(off int) string {
		q := queryOf("status", status, "ledger_id", ledgerID)
		if off > 0 {
			q.Set("offset", strconv.Itoa(off))
		}
		return withQuery(runsPath, q)
	}
	if offset > 0 {
		d.Prev = page(max(offset-runsPerPage, 0))
	}
	if int64(offset+len(rows)) < total {
		d.Next = page(offset + runsPerPage)
	}
	s.render(c, http.StatusOK, "ledger_runs.html", v)
}

// One run.

// runOffsets are where each table of a run's page starts.
type runOffsets struct {
	Matches, Items, Discrepancies int
}

func runOffsetsOf(c *gin.Context, probs *formProblems) runOffsets {
	return runOffsets{
		Matches:       offsetParam(c, "matches_offset", probs),
		Items:         offsetParam(c, "items_offset", probs),
		Discrepancies: offsetParam(c, "discrepancies_offset", probs),
	}
}

func (o runOffsets) query() url.Values {
	q := url.Values{}
	for name, v := range map[string]int{"matches_offset": o.Matches, "items_offset": o.Items, "discrepancies_offset": o.Discrepancies} {
		if v > 0 {
			q.Set(name, strconv.Itoa(v))
		}
	}
	return q
}

// runForm is what a refused action re-renders the run page with.
type runForm struct {
	Error  string
	ItemID uuid.UUID // the line whose close form was refused
	Reason string    // what was typed in it
}

type runData struct {
	Run     runSummary
	Sources []runSource
	Form    runForm
	Back    string // the page's offsets as a query ("?…" or ""), for forms and links

	Matches       []runMatch
	MatchesTotal  int64
	Items         []runLine
	ItemsTotal    int64
	Discrepancies []runDiscrepancy
	DiscTotal     int64
	Pagers        map[string]tablePager
}

// tablePager links to the previous and next page of a table.
type tablePager struct {
	From, To   int
	Prev, Next string
}

type runSource struct {
	FileName, Format, Status, Error string
	Imported                        int64
	CreatedAt                       time.Time
}

type runMatch struct {
	N                       int // 1-based place in the run's list
	ID                      uuid.UUID
	Status, Kind, Strategy  string
	Score                   string
	Amount                  string
	Lines, Entries          int
	Reason, Note, DecidedBy string
	DecidedAt               *time.Time
	CanAccept, CanReject    bool
}

type runLine struct {
	ID                                   uuid.UUID
	Row                                  int32
	BookingDate, Direction, Amount       string
	Reference, Counterparty, Description string
	MatchStatus, MatchLabel              string
	CloseReason                          string
	CanClose, CanReopen                  bool
	Typed                                string // the reason of a refused close of this line
	Refused                              bool   // this line's action was refused
}

type runDiscrepancy struct {
	Type, Severity, Status, Amount, Message string
	Lines, Entries                          int
}

func pagerFor(base url.Values, path, param string, offset, shown int, total int64, fragment string) tablePager {
	p := tablePager{From: offset + 1, To: offset + shown}
	link := func(off int) string {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Del(param)
		if off > 0 {
			q.Set(param, strconv.Itoa(off))
		}
		return withQuery(path, q) + fragment
	}
	if offset > 0 {
		p.Prev = link(max(offset-runSectionRows, 0))
	}
	if int64(offset+shown) < total {
		p.Next = link(offset + runSectionRows)
	}
	return p
}

// showRun answers GET /console/ledger-runs/:id.
func (s *Console) showRun(c *gin.Context) {
	id, err := pathUUID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderRun(c, id, http.StatusOK, runForm{}, runNotices[c.Query("notice")])
}

// renderRun renders a run's page with status: after a GET, or after an
// action the service refused (form says why).
func (s *Console) renderRun(c *gin.Context, id uuid.UUID, status int, form runForm, notice string) {
	var probs formProblems
	off := runOffsetsOf(c, &probs)
	if len(probs) > 0 {
		s.errorPage(c, http.StatusBadRequest)
		return
	}
	ctx, org := c.Request.Context(), principal(c).OrganizationID
	r, err := s.ledgers.GetRun(ctx, org, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.loadRun(ctx, org, r, off, session(c).Actor())
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Form = form
	for i := range d.Items {
		if form.ItemID != uuid.Nil && d.Items[i].ID == form.ItemID {
			d.Items[i].Typed, d.Items[i].Refused = form.Reason, form.Error != ""
		}
	}
	s.render(c, status, "ledger_run.html", view{Title: "Ledger run " + idPrefix(r.ID), Section: "ledger-runs", Notice: notice, Data: d})
}

// loadRun reads what a run's page shows; me is the signed-in user as an
// actor, named "you" where they decided.
func (s *Console) loadRun(ctx context.Context, org uuid.UUID, r db.LedgerRun, off runOffsets, me string) (runData, error) {
	l, err := s.ledgers.GetLedger(ctx, org, r.LedgerID)
	if err != nil {
		return runData{}, err
	}
	sources, err := s.ledgers.Sources(ctx, org, r.ID)
	if err != nil {
		return runData{}, err
	}
	matches, err := s.ledgers.Matches(ctx, org, r.ID, nil, runSectionRows, off.Matches)
	if err != nil {
		return runData{}, err
	}
	items, err := s.ledgers.Items(ctx, org, r.ID, runSectionRows, off.Items)
	if err != nil {
		return runData{}, err
	}
	discs, err := s.ledgers.Discrepancies(ctx, org, r.ID, ledger.DiscrepancyFilter{}, runSectionRows, off.Discrepancies)
	if err != nil {
		return runData{}, err
	}

	run := runSummaryOf(r, l.Name)
	d := runData{Run: run, MatchesTotal: matches.Total, ItemsTotal: items.Total, DiscTotal: discs.Total}
	if q := off.query(); len(q) > 0 {
		d.Back = "?" + q.Encode()
	}
	self := runsPath + "/" + r.ID.String()
	d.Pagers = map[string]tablePager{
		"matches":       pagerFor(off.query(), self, "matches_offset", off.Matches, len(matches.Rows), matches.Total, "#matches"),
		"items":         pagerFor(off.query(), self, "items_offset", off.Items, len(items.Rows), items.Total, "#items"),
		"discrepancies": pagerFor(off.query(), self, "discrepancies_offset", off.Discrepancies, len(discs.Rows), discs.Total, "#discrepancies"),
	}
	for _, src := range sources {
		rs := runSource{FileName: src.FileName, Format: src.Format, Status: src.Status, Imported: int64(src.Imported), CreatedAt: src.CreatedAt}
		if src.Error != nil {
			rs.Error = *src.Error
		}
		d.Sources = append(d.Sources, rs)
	}
	for i, m := range matches.Rows {
		rm := runMatch{N: off.Matches + i + 1, ID: m.ID, Status: m.Status, Kind: m.Kind, Strategy: m.Strategy,
			Score: strconv.FormatFloat(m.Score, 'f', 2, 64), Amount: moneyText(m.Amount.Dec(), m.Currency),
			Lines: len(m.ItemIds), Entries: len(m.EntryIds), Reason: m.Reason, DecidedAt: m.DecidedAt,
			CanAccept: run.Changeable && m.Status == ledger.MatchSuggested,
			CanReject: run.Changeable && (m.Status == ledger.MatchSuggested || m.Status == ledger.MatchAccepted)}
		if m.Note != nil {
			rm.Note = *m.Note
		}
		if m.DecidedBy != nil {
			rm.DecidedBy = *m.DecidedBy
			if rm.DecidedBy == me {
				rm.DecidedBy = "you"
			}
		}
		d.Matches = append(d.Matches, rm)
	}
	for _, it := range items.Rows {
		rl := runLine{ID: it.ID, Row: it.RowNumber, BookingDate: resource.Day(it.BookingDate), Direction: it.Direction,
			Amount: moneyText(it.Amount.Dec(), it.Currency), Reference: textOf(it.Reference), Counterparty: textOf(it.Counterparty),
			Description: textOf(it.Description), MatchStatus: it.MatchStatus, MatchLabel: lineStatusLabels[it.MatchStatus], CloseReason: textOf(it.CloseReason),
			// A line in a match is not closed: reject the match first.
			CanClose:  run.Changeable && it.ClosedAt == nil && it.MatchID == nil,
			CanReopen: run.Changeable && it.ClosedAt != nil}
		d.Items = append(d.Items, rl)
	}
	for _, x := range discs.Rows {
		rd := runDiscrepancy{Type: x.Type, Severity: x.Severity, Status: x.Status, Message: x.Message, Lines: len(x.ItemIds), Entries: len(x.EntryIds)}
		if a := x.Amount.Dec(); a != nil {
			rd.Amount = moneyText(*a, textOf(x.Currency))
		}
		d.Discrepancies = append(d.Discrepancies, rd)
	}
	return d, nil
}

// lineStatusLabels name a line's match status (RunItems): partial is a
// line in a suggested match, waiting for a decision.
var lineStatusLabels = map[string]string{"matched": "Matched", "partial": "Suggested match", "unmatched": "Unmatched", "closed": "Closed"}

func textOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// idPrefix is the first block of an id, enough to tell rows apart by eye.
func idPrefix(id uuid.UUID) string { return id.String()[:8] }

// runAction answers an action on a run's match or line: 303 back to the
// run's page (the same pages of its tables) with notice, or the page again
// with the service's refusal and nothing changed.
func (s *Console) runAction(c *gin.Context, runID uuid.UUID, notice, fragment string, form runForm, err error) {
	if err != nil {
		if status, msg, ok := actionRefused(err); ok {
			form.Error = msg
			s.renderRun(c, runID, status, form, "")
			return
		}
		s.fail(c, err)
		return
	}
	var probs formProblems
	q := runOffsetsOf(c, &probs).query()
	q.Set("notice", notice)
	c.Redirect(http.StatusSeeOther, withQuery(runsPath+"/"+runID.String(), q)+fragment)
}

// decideRunMatch is POST …/matches/:matchID/accept and …/reject. The match
// must be of the run in the path (another run's, or another
// organization's, is not found).
func (s *Console) decideRunMatch(accept bool) gin.HandlerFunc {
	notice := map[bool]string{true: "match_accepted", false: "match_rejected"}[accept]
	return func(c *gin.Context) {
		runID, err := pathUUID(c, "id")
		if err == nil {
			var matchID uuid.UUID
			if matchID, err = pathUUID(c, "matchID"); err == nil {
				ctx, org := c.Request.Context(), principal(c).OrganizationID
				var m db.GetLedgerMatchRow
				if m, err = s.ledgers.GetMatch(ctx, org, matchID); err == nil && m.RunID != runID {
					err = errNotFound
				}
				if err == nil {
					_, err = s.ledgers.DecideMatch(ctx, org, matchID, accept, session(c).Actor())
					s.runAction(c, runID, notice, "#matches", runForm{}, err)
					return
				}
			}
		}
		s.fail(c, err)
	}
}

// pathRunItem reads the line of the path, which must be of the run in the path.
func (s *Console) pathRunItem(c *gin.Context) (runID, itemID uuid.UUID, err error) {
	if runID, err = pathUUID(c, "id"); err != nil {
		return
	}
	if itemID, err = pathUUID(c, "itemID"); err != nil {
		return
	}
	it, err := s.ledgers.GetItem(c.Request.Context(), principal(c).OrganizationID, itemID)
	if err == nil && it.RunID != runID {
		err = errNotFound
	}
	return runID, itemID, err
}

// closeRunItem is POST …/items/:itemID/close with a reason (1 to 100
// characters, as the api's close).
func (s *Console) closeRunItem(c *gin.Context) {
	runID, itemID, err := s.pathRunItem(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	reason := strings.TrimSpace(c.PostForm("reason"))
	form := runForm{ItemID: itemID, Reason: reason}
	if reason == "" || validate.Chars(reason) > 100 {
		form.Error = "Give a reason for closing the line: 1 to 100 characters, such as bank_fee."
		s.renderRun(c, runID, http.StatusBadRequest, form, "")
		return
	}
	_, err = s.ledgers.CloseItem(c.Request.Context(), principal(c).OrganizationID, itemID, nil, reason, nil, session(c).Actor())
	s.runAction(c, runID, "item_closed", "#items", form, err)
}

// reopenRunItem is POST …/items/:itemID/reopen.
func (s *Console) reopenRunItem(c *gin.Context) {
	runID, itemID, err := s.pathRunItem(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	_, err = s.ledgers.ReopenItem(c.Request.Context(), principal(c).OrganizationID, itemID, session(c).Actor())
	s.runAction(c, runID, "item_reopened", "#items", runForm{ItemID: itemID}, err)
}
