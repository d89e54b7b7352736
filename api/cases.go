package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/txn"
	"github.com/reconlayer/reconlayer/internal/validate"
)

var (
	caseStatuses           = []string{"open", "resolved", "archived"}
	reconciliationStatuses = []string{"unreconciled", "tentatively_reconciled", "reconciled"}
	verdicts               = []string{"matched", "matched_with_exception", "needs_review", "unreconciled", "sla_risk", "delayed"}
	exceptionTypes         = []string{"amount_mismatch", "missing_leg", "fee_out_of_tolerance", "fx_variance",
		"duplicate_evidence", "conflicting_status", "currency_mismatch", "timing_delay", "ambiguous_match"}
)

// caseFilters reads the filters shared by the case list and the export.
func caseFilters(c *gin.Context, is *issues, extra ...string) db.ListCasesParams {
	q := newQuery(c, is, append([]string{"status", "reconciliationStatus", "verdict", "exceptionType", "slaRisk",
		"externalReference", "paymentIntentId", "from", "to"}, extra...)...)
	p := db.ListCasesParams{
		OrganizationID:       mustPrincipal(c).OrganizationID,
		Status:               q.enum("status", caseStatuses),
		ReconciliationStatus: q.enum("reconciliationStatus", reconciliationStatuses),
		Verdicts:             orEmpty(q.enums("verdict", verdicts)),
		ExceptionType:        q.enum("exceptionType", exceptionTypes),
		SlaRisk:              q.boolean("slaRisk"),
		ExternalReference:    q.str("externalReference", 255),
		PaymentIntentID:      q.uuid("paymentIntentId"),
	}
	p.CreatedFrom, p.CreatedTo = q.timeRange("from", "to")
	return p
}

func (s *server) listCases(c *gin.Context) {
	var is issues
	p := caseFilters(c, &is, pagingParams...)
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p.Lim, p.Off = int32(pg.Limit), int32(pg.Offset)
	p.AfterCreatedAt, p.AfterID = pg.Bound()
	rows, rel, total, err := s.cases.List(c.Request.Context(), p)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total,
		func(r db.ListCasesRow) resource.Case {
			return resource.RenderCase(r.ReconciliationCase, r.PaymentIntent, r.SlaAgeMinutes, rel.Audit[r.ReconciliationCase.ID], rel.Legs[r.ReconciliationCase.ID])
		},
		func(r db.ListCasesRow) (time.Time, uuid.UUID) {
			return r.ReconciliationCase.CreatedAt, r.ReconciliationCase.ID
		})
}

type noteRequest struct {
	Note string `json:"note"`
}

func (r *noteRequest) validate(is *issues) {
	if strings.TrimSpace(r.Note) == "" || validate.Chars(r.Note) > 5000 {
		is.Add([]string{"note"}, "Required; 1 to 5000 characters.")
	}
}

type reasonRequest struct {
	Reason *string `json:"reason"`
}

func (r *reasonRequest) validate(is *issues) {
	validate.OptString(r.Reason, []string{"reason"}, 1000, is)
}

// caseAction runs one action and answers the case as it committed.
func (s *server) caseAction(c *gin.Context, run func(a cases.Action, finish txn.Finish[db.ReconciliationCase]) error) {
	id, ok := pathID(c, "Reconciliation case")
	if !ok {
		return
	}
	p := mustPrincipal(c)
	a := cases.Action{OrganizationID: p.OrganizationID, CaseID: id, Actor: actor(p)}
	render := func(ctx context.Context, tx pgx.Tx, cs db.ReconciliationCase) (any, error) {
		b, err := cases.ReadBundle(ctx, db.New(tx), cs.OrganizationID, cs.ID)
		return resource.CaseOf(b), err
	}
	if err := run(a, completeWith(c, status[db.ReconciliationCase](http.StatusOK), render, nil)); err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) addCaseNote(c *gin.Context) {
	var req noteRequest
	if !s.bindJSON(c, &req) {
		return
	}
	s.caseAction(c, func(a cases.Action, f txn.Finish[db.ReconciliationCase]) error {
		_, err := s.cases.AddNote(c.Request.Context(), a, req.Note, f)
		return err
	})
}

// statusAction is resolve, reopen or archive: an optional {"reason"} body.
func (s *server) statusAction(do func(*cases.Service, context.Context, cases.Action, *string, txn.Finish[db.ReconciliationCase]) (db.ReconciliationCase, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req reasonRequest
		if !s.bindOptionalJSON(c, &req) {
			return
		}
		s.caseAction(c, func(a cases.Action, f txn.Finish[db.ReconciliationCase]) error {
			_, err := do(s.cases, c.Request.Context(), a, req.Reason, f)
			return err
		})
	}
}

func (s *server) rerunCase(c *gin.Context) {
	var req struct{}
	if !s.bindOptionalJSON(c, &req) {
		return
	}
	s.caseAction(c, func(a cases.Action, f txn.Finish[db.ReconciliationCase]) error {
		_, err := s.cases.Rerun(c.Request.Context(), a, f)
		return err
	})
}

func (s *server) listAuditEvents(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "caseId", "paymentIntentId", "eventType", "from", "to")
	p := db.ListAuditEventsParams{
		OrganizationID: mustPrincipal(c).OrganizationID, CaseID: q.uuid("caseId"),
		PaymentIntentID: q.uuid("paymentIntentId"), EventType: q.str("eventType", 100),
	}
	p.OccurredFrom, p.OccurredTo = q.timeRange("from", "to")
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p.Lim, p.Off = int32(pg.Limit), int32(pg.Offset)
	p.AfterOccurredAt, p.AfterID = pg.Bound()
	rows, total, err := s.cases.AuditEvents(c.Request.Context(), p)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, resource.RenderAudit, func(e db.AuditEvent) (time.Time, uuid.UUID) { return e.OccurredAt, e.ID })
}
