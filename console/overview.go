package console

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/page"
)

// recentFailures is how many failed import batches the overview lists.
const recentFailures = 5

func (s *Console) routeOverview(in *gin.RouterGroup) {
	in.GET("", s.overview)
}

// overviewData is what the overview page shows, all of one organization.
type overviewData struct {
	Counts         db.DashboardOverviewRow
	Verdicts       []labelCount
	Statuses       []labelCount
	Exceptions     []labelCount // types no case has are left out
	Chart          chart
	Failures       []db.ImportBatch
	FailuresTotal  int64
	ExceptionTotal int64
}

type labelCount struct {
	Key, Label string
	Count      int64
}

// overview answers GET /console: the organization's cases by verdict and
// reconciliation status, SLA risk and delays, exceptions by type, cases
// created per day, and the latest failed imports. The three reads run at
// once, each on its own connection: the counts are one scan of the
// organization's cases, the chart one of its last 14 days.
func (s *Console) overview(c *gin.Context) {
	d, err := s.loadOverview(c.Request.Context(), principal(c).OrganizationID, time.Now())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "overview.html", view{Title: "Overview", Section: "overview", Notice: notice(c), Data: d})
}

func (s *Console) loadOverview(ctx context.Context, org uuid.UUID, now time.Time) (overviewData, error) {
	var (
		d       overviewData
		perDay  []db.CasesCreatedPerDayRow
		chartAt = now.UTC()
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		d.Counts, err = s.cases.Overview(gctx, org, nil, nil)
		return err
	})
	g.Go(func() (err error) {
		from := chartAt.Truncate(24*time.Hour).AddDate(0, 0, -(chartDays - 1))
		perDay, err = s.cases.CreatedPerDay(gctx, org, from)
		return err
	})
	g.Go(func() (err error) {
		failed := importer.StatusFailed
		d.Failures, d.FailuresTotal, err = s.imports.ListBatches(gctx, org, &failed, page.Page{Limit: recentFailures})
		return err
	})
	if err := g.Wait(); err != nil {
		return overviewData{}, err
	}
	r := d.Counts
	d.Verdicts = []labelCount{
		{"matched", verdictLabel("matched"), r.VerdictMatched},
		{"matched_with_exception", verdictLabel("matched_with_exception"), r.VerdictMatchedWithException},
		{"needs_review", verdictLabel("needs_review"), r.VerdictNeedsReview},
		{"unreconciled", verdictLabel("unreconciled"), r.VerdictUnreconciled},
		{"delayed", verdictLabel("delayed"), r.VerdictDelayed},
		{"sla_risk", verdictLabel("sla_risk"), r.VerdictSlaRisk},
		{"none", verdictLabel("none"), r.VerdictNone},
	}
	d.Statuses = []labelCount{
		{"reconciled", "Reconciled", r.Reconciled},
		{"tentatively_reconciled", "Tentatively reconciled", r.TentativelyReconciled},
		{"unreconciled", "Unreconciled", r.Unreconciled},
	}
	for _, e := range []labelCount{
		{"amount_mismatch", "", r.ExceptionAmountMismatch},
		{"missing_leg", "", r.ExceptionMissingLeg},
		{"fee_out_of_tolerance", "", r.ExceptionFeeOutOfTolerance},
		{"fx_variance", "", r.ExceptionFxVariance},
		{"duplicate_evidence", "", r.ExceptionDuplicateEvidence},
		{"conflicting_status", "", r.ExceptionConflictingStatus},
		{"currency_mismatch", "", r.ExceptionCurrencyMismatch},
		{"timing_delay", "", r.ExceptionTimingDelay},
		{"ambiguous_match", "", r.ExceptionAmbiguousMatch},
	} {
		if e.Count > 0 {
			e.Label = humanize(e.Key)
			d.Exceptions = append(d.Exceptions, e)
			d.ExceptionTotal += e.Count
		}
	}
	// Most frequent first; the list above breaks ties.
	slices.SortStableFunc(d.Exceptions, func(a, b labelCount) int { return cmp.Compare(b.Count, a.Count) })
	d.Chart = buildChart(perDay, chartAt)
	return d, nil
}
