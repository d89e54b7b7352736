package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/txn"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// Codes of manual linking.
const (
	CodeFlowLegAlreadyLinked = "flow_leg_already_linked"
	CodeMatchLinkNotActive   = "match_link_not_active"
)

type linkRequest struct {
	FlowLegID string  `json:"flowLegId"`
	Reason    *string `json:"reason"`
}

func (r *linkRequest) validate(is *issues) {
	if _, err := uuid.Parse(r.FlowLegID); err != nil || len(r.FlowLegID) != 36 {
		is.Add([]string{"flowLegId"}, "Required: the id of a flow leg (a UUID).")
	}
	validate.OptString(r.Reason, []string{"reason"}, 1000, is)
}

type linkResultJSON struct {
	MatchLink resource.MatchLink `json:"matchLink"`
	Case      resource.Case      `json:"case"`
}

func (s *server) renderLinkResult(ctx context.Context, tx pgx.Tx, r matcher.LinkResult) (any, error) {
	b, err := cases.ReadBundle(ctx, db.New(tx), r.Case.OrganizationID, r.Case.ID)
	return linkResultJSON{MatchLink: resource.RenderLink(r.Link), Case: resource.CaseOf(b)}, err
}

// linkLeg is POST /v1/reconciliation-cases/{id}/links: attach a free leg by
// hand (an ambiguous one, or one the matcher could not place).
func (s *server) linkLeg(c *gin.Context) {
	id, ok := pathID(c, "Reconciliation case")
	if !ok {
		return
	}
	var req linkRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	_, err := s.matcher.Link(c.Request.Context(), p.OrganizationID, id, uuid.MustParse(req.FlowLegID), actor(p), req.Reason,
		completeWith(c, status[matcher.LinkResult](http.StatusCreated), s.renderLinkResult, nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

// unlinkLeg is DELETE /v1/reconciliation-cases/{id}/links/{linkId}.
func (s *server) unlinkLeg(c *gin.Context) {
	id, ok := pathID(c, "Reconciliation case")
	if !ok {
		return
	}
	linkID, err := uuid.Parse(c.Param("linkId"))
	if err != nil {
		abort(c, NewError(http.StatusNotFound, CodeNotFound, "Match link not found."))
		return
	}
	p := mustPrincipal(c)
	var rendered any
	_, err = s.matcher.Unlink(c.Request.Context(), p.OrganizationID, id, linkID, actor(p),
		txn.Finish[matcher.LinkResult](func(ctx context.Context, tx pgx.Tx, r matcher.LinkResult) error {
			var err error
			rendered, err = s.renderLinkResult(ctx, tx, r)
			return err
		}))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, rendered)
}
