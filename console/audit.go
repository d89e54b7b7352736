package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/validate"
)

const auditPath = Prefix + "/audit"

// routeAudit adds the Audit page: the organization's audit events, what the
// api's session-only GET /v1/audit-events lists (the console's session is
// a dashboard session).
func (s *Console) routeAudit(g *gin.RouterGroup) {
	g.GET("/audit", s.auditPage)
}

// auditFilter is the page's query string, in the api's parameter names.
type auditFilter struct {
	CaseID, PaymentIntentID, EventType string
	Limit                              int
}

func (f auditFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"caseId": f.CaseID, "paymentIntentId": f.PaymentIntentID, "eventType": f.EventType} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != pageSizes[0] {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

type auditData struct {
	Filter    auditFilter
	PageSizes []option
	Problems  formProblems
	Events    []auditView
	Total     int64
	Filtered  bool
	Continued bool
	FirstURL  string
	NextURL   string
}

// auditPage answers GET /console/audit: audit events newest first, by case,
// intent and event type, one keyset page at a time.
func (s *Console) auditPage(c *gin.Context) {
	var probs formProblems
	f := auditFilter{
		CaseID:          strings.TrimSpace(c.Query("caseId")),
		PaymentIntentID: strings.TrimSpace(c.Query("paymentIntentId")),
		EventType:       strings.TrimSpace(c.Query("eventType")),
		Limit:           limitParam(c, &probs),
	}
	p := db.ListAuditEventsParams{OrganizationID: principal(c).OrganizationID, Lim: int32(f.Limit)}
	p.CaseID = uuidParam(f.CaseID, "Case id", &probs)
	p.PaymentIntentID = uuidParam(f.PaymentIntentID, "Payment intent id", &probs)
	if validate.Chars(f.EventType) > 100 {
		probs.add("Event type: at most 100 characters.")
	} else {
		p.EventType = orNil(f.EventType)
	}
	pg := cursorParam(c, f.Limit, &probs)
	p.AfterOccurredAt, p.AfterID = pg.Bound()

	first := f
	first.Limit = pageSizes[0]
	d := auditData{
		Filter:    f,
		PageSizes: pageSizeOptions(f.Limit),
		Problems:  probs,
		Filtered:  len(first.query()) > 0,
		Continued: pg.After != nil,
		FirstURL:  withQuery(auditPath, f.query()),
	}
	v := view{Title: "Audit events", Section: "audit", Data: &d}
	if len(probs) > 0 {
		s.render(c, http.StatusBadRequest, "audit.html", v)
		return
	}
	rows, total, err := s.cases.AuditEvents(c.Request.Context(), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Total = total
	me := session(c)
	for _, e := range rows {
		d.Events = append(d.Events, auditViewOf(resource.RenderAudit(e), me))
	}
	if len(rows) == f.Limit {
		last := rows[len(rows)-1]
		q := f.query()
		q.Set("cursor", encodeListCursor(last.OccurredAt, last.ID))
		d.NextURL = withQuery(auditPath, q)
	}
	s.render(c, http.StatusOK, "audit.html", v)
}

// uuidParam reads an optional id filter.
func uuidParam(v, label string, probs *formProblems) *uuid.UUID {
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		probs.add("%s: %q is not an id (a UUID such as 0b7c5e1a-…).", label, v)
		return nil
	}
	return &id
}
