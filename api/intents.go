package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// createIntentRequest is intent.Request, validated by the rules the
// importer applies to ledger rows too.
type createIntentRequest struct{ intent.Request }

func (r *createIntentRequest) validate(is *issues) { r.Request.Validate(is) }

// actor names the credential behind a change, for the audit trail.
func actor(p auth.Principal) string {
	if p.Kind == auth.KindSession {
		return "user:" + p.UserID
	}
	return "api_key:" + p.APIKeyID.String()
}

type createIntentResponse struct {
	PaymentIntentID   string  `json:"paymentIntentId"`
	CaseID            string  `json:"caseId"`
	ExternalReference string  `json:"externalReference"`
	Status            string  `json:"status"`
	Verdict           *string `json:"verdict"`
	Outcome           string  `json:"outcome"`
}

func (s *server) createIntent(c *gin.Context) {
	var req createIntentRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	in := req.Input(p.OrganizationID, actor(p))

	res, err := s.intents.Create(c.Request.Context(), in, completeWith(c,
		func(r intent.Result) int {
			if r.Outcome == intent.OutcomeReused {
				return http.StatusOK
			}
			return http.StatusCreated
		},
		plain(func(r intent.Result) any {
			return createIntentResponse{
				PaymentIntentID: r.Intent.ID.String(), CaseID: r.Case.ID.String(),
				ExternalReference: r.Intent.ExternalReference, Status: r.Intent.Status,
				Verdict: r.Case.Verdict, Outcome: r.Outcome,
			}
		}), nil))
	var conflict *intent.ConflictError
	if errors.As(err, &conflict) {
		e := NewError(http.StatusConflict, CodePaymentIntentConflict,
			"A payment intent with externalReference %q exists with different %s.", conflict.Existing.ExternalReference,
			conflictFields(conflict.Conflicts))
		e.Details = gin.H{
			"paymentIntentId": conflict.Existing.ID.String(), "externalReference": conflict.Existing.ExternalReference,
			"conflicts": conflict.Conflicts,
		}
		abort(c, e)
		return
	}
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if res.Claim != nil {
		s.enqueueLater(c.Request.Context(), *res.Claim)
	}
	respondCompleted(c)
}

// enqueueLater enqueues a job recorded in the outbox; if Redis is away the
// sweeper enqueues it later, so the request does not fail.
func (s *server) enqueueLater(ctx context.Context, j tasks.Job) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.EnqueueTimeout)
	defer cancel()
	if err := s.enqueuer.Enqueue(ctx, j); err != nil {
		s.logger.WarnContext(ctx, "enqueue; left to the outbox sweeper", "task_id", j.ID, "err", err.Error())
	}
}

func conflictFields(cs []intent.FieldConflict) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Field
	}
	return strings.Join(names, ", ")
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

var intentStatuses = []string{"pending", "processing", "completed", "failed", "reversed"}

func (s *server) listIntents(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "status", "externalReference", "from", "to")
	p := db.ListPaymentIntentsParams{
		OrganizationID:    mustPrincipal(c).OrganizationID,
		Status:            q.enum("status", intentStatuses),
		ExternalReference: q.str("externalReference", 255),
	}
	p.CreatedFrom, p.CreatedTo = q.timeRange("from", "to")
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p.Lim, p.Off = int32(pg.Limit), int32(pg.Offset)
	p.AfterCreatedAt, p.AfterID = pg.Bound()
	rows, total, err := s.intents.List(c.Request.Context(), p)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, resource.RenderIntentFull, func(pi db.PaymentIntent) (time.Time, uuid.UUID) { return pi.CreatedAt, pi.ID })
}

func (s *server) getIntent(c *gin.Context) {
	id, ok := pathID(c, "Payment intent")
	if !ok {
		return
	}
	d, err := s.intents.GetDetail(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderIntentDetail(d.Intent, d.Case, d.Audit))
}
