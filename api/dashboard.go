package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/resource"
)

// overviewJSON is what an ops dashboard shows first: how many cases of a
// period are in each state. Every key is always present.
type overviewJSON struct {
	From     *time.Time           `json:"from"`
	To       *time.Time           `json:"to"`
	Counts   overviewCountsJSON   `json:"counts"`
	Verdicts overviewVerdictsJSON `json:"verdicts"`
}

type overviewCountsJSON struct {
	Total        int64 `json:"total"`
	Open         int64 `json:"open"`
	Reconciled   int64 `json:"reconciled"`
	Tentatively  int64 `json:"tentativelyReconciled"`
	NeedsReview  int64 `json:"needsReview"`
	Unreconciled int64 `json:"unreconciled"`
	Exceptions   int64 `json:"exceptions"`
	SLARisk      int64 `json:"slaRisk"`
	Delayed      int64 `json:"delayed"`
}

// overviewVerdictsJSON is keyed by verdict value (snake_case, as the values
// themselves are); none counts cases not judged yet.
type overviewVerdictsJSON struct {
	Matched              int64 `json:"matched"`
	MatchedWithException int64 `json:"matched_with_exception"`
	NeedsReview          int64 `json:"needs_review"`
	Unreconciled         int64 `json:"unreconciled"`
	SLARisk              int64 `json:"sla_risk"`
	Delayed              int64 `json:"delayed"`
	None                 int64 `json:"none"`
}

func renderOverview(from, to *time.Time, r db.DashboardOverviewRow) overviewJSON {
	return overviewJSON{
		From: resource.UTCPtr(from), To: resource.UTCPtr(to),
		Counts: overviewCountsJSON{
			Total: r.Total, Open: r.Open, Reconciled: r.Reconciled, Tentatively: r.TentativelyReconciled, NeedsReview: r.NeedsReview,
			Unreconciled: r.Unreconciled, Exceptions: r.Exceptions, SLARisk: r.SlaRisk, Delayed: r.Delayed,
		},
		Verdicts: overviewVerdictsJSON{
			Matched: r.VerdictMatched, MatchedWithException: r.VerdictMatchedWithException,
			NeedsReview: r.VerdictNeedsReview, Unreconciled: r.VerdictUnreconciled,
			SLARisk: r.VerdictSlaRisk, Delayed: r.VerdictDelayed, None: r.VerdictNone,
		},
	}
}

func (s *server) dashboardOverview(c *gin.Context) {
	var is issues
	from, to := newQuery(c, &is, "from", "to").timeRange("from", "to")
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	row, err := s.cases.Overview(c.Request.Context(), mustPrincipal(c).OrganizationID, from, to)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, renderOverview(from, to, row))
}
