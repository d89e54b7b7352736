package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/ruleset"
)

// ruleJSON is a rule on the wire: the rule's own fields (amountTolerance is
// a decimal string, as decimal.Decimal marshals) between the resource's id,
// which shadows the rule's uuid id, and its timestamps.
type ruleJSON struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organizationId"`
	rule.Rule
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func renderRule(r db.ReconciliationRule) ruleJSON {
	return ruleJSON{ID: r.ID.String(), OrganizationID: r.OrganizationID.String(),
		Rule: ruleset.FromRow(r), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// ruleRequest is the body of POST (every field but name optional, defaults
// from the built-in rule of the payment type) and of PATCH (fields given
// replace the stored ones; paymentType and sourceType may be null = any).
type ruleRequest struct {
	Name                              *string          `json:"name"`
	Priority                          *int32           `json:"priority"`
	PaymentType                       nullable[string] `json:"paymentType"`
	SourceType                        nullable[string] `json:"sourceType"`
	IsActive                          *bool            `json:"isActive"`
	AmountTolerance                   *money.Amount    `json:"amountTolerance"`
	AmountToleranceBps                *int32           `json:"amountToleranceBps"`
	TimeWindowMinutes                 *int32           `json:"timeWindowMinutes"`
	AllowExplicitIDMatch              *bool            `json:"allowExplicitIdMatch"`
	AllowProviderIDMatch              *bool            `json:"allowProviderIdMatch"`
	AllowTxHashMatch                  *bool            `json:"allowTxHashMatch"`
	AllowReferenceExactMatch          *bool            `json:"allowReferenceExactMatch"`
	AllowAmountAndTimeWindowMatch     *bool            `json:"allowAmountAndTimeWindowMatch"`
	RequiredLegTypes                  []string         `json:"requiredLegTypes"`
	RequireAllRequiredLegs            *bool            `json:"requireAllRequiredLegs"`
	ExpectedCompletionMinutes         *int32           `json:"expectedCompletionMinutes"`
	SLARiskThresholdPercent           *int32           `json:"slaRiskThresholdPercent"`
	DelayedSettlementThresholdMinutes *int32           `json:"delayedSettlementThresholdMinutes"`
}

// apply writes the given fields onto r.
func (q *ruleRequest) apply(r *rule.Rule) {
	set := func(dst *int32, v *int32) {
		if v != nil {
			*dst = *v
		}
	}
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	if q.Name != nil {
		r.Name = strings.TrimSpace(*q.Name)
	}
	if q.PaymentType.Set {
		r.PaymentType = q.PaymentType.Value
	}
	if q.SourceType.Set {
		r.SourceType = q.SourceType.Value
	}
	if q.AmountTolerance != nil {
		r.AmountTolerance = q.AmountTolerance.Decimal
	}
	if q.RequiredLegTypes != nil {
		r.RequiredLegTypes = q.RequiredLegTypes
	}
	set(&r.Priority, q.Priority)
	set(&r.AmountToleranceBps, q.AmountToleranceBps)
	set(&r.TimeWindowMinutes, q.TimeWindowMinutes)
	set(&r.ExpectedCompletionMinutes, q.ExpectedCompletionMinutes)
	set(&r.SLARiskThresholdPercent, q.SLARiskThresholdPercent)
	set(&r.DelayedSettlementThresholdMinutes, q.DelayedSettlementThresholdMinutes)
	setB(&r.IsActive, q.IsActive)
	setB(&r.AllowExplicitIDMatch, q.AllowExplicitIDMatch)
	setB(&r.AllowProviderIDMatch, q.AllowProviderIDMatch)
	setB(&r.AllowTxHashMatch, q.AllowTxHashMatch)
	setB(&r.AllowReferenceExactMatch, q.AllowReferenceExactMatch)
	setB(&r.AllowAmountAndTimeWindowMatch, q.AllowAmountAndTimeWindowMatch)
	setB(&r.RequireAllRequiredLegs, q.RequireAllRequiredLegs)
}

// createRuleRequest is a POST body: the rule it describes is the built-in
// default of its payment type with the given fields applied.
type createRuleRequest struct {
	ruleRequest
}

func (q *createRuleRequest) rule() rule.Rule {
	pt := rule.PaymentOther
	if q.PaymentType.Value != nil && slices.Contains(rule.PaymentTypes, *q.PaymentType.Value) {
		pt = *q.PaymentType.Value
	}
	r := rule.Default(pt)
	r.Name, r.Priority, r.PaymentType = "", 100, nil
	if q.PaymentType.Value == nil {
		// For every payment type: each type's own legs unless named (rule.Select).
		r.RequiredLegTypes = []string{}
	}
	q.apply(&r)
	return r
}

func (q *createRuleRequest) validate(is *issues) { *is = append(*is, rule.Validate(q.rule())...) }

func (s *server) createRule(c *gin.Context) {
	var req createRuleRequest
	if !s.bindJSON(c, &req) {
		return
	}
	_, err := s.rules.Create(c.Request.Context(), mustPrincipal(c).OrganizationID, req.rule(),
		completeWith(c, status[db.ReconciliationRule](http.StatusCreated), plain(func(r db.ReconciliationRule) any { return renderRule(r) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) updateRule(c *gin.Context) {
	id, ok := pathID(c, "Reconciliation rule")
	if !ok {
		return
	}
	var req ruleRequest
	if !s.bindJSON(c, &req) {
		return
	}
	row, err := s.rules.Update(c.Request.Context(), mustPrincipal(c).OrganizationID, id, func(r *rule.Rule) error {
		req.apply(r)
		return invalid(rule.Validate(*r))
	})
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, renderRule(row))
}

func (s *server) listRules(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "paymentType")
	p := db.ListRulesParams{OrganizationID: mustPrincipal(c).OrganizationID, PaymentType: q.enum("paymentType", rule.PaymentTypes)}
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p.Lim, p.Off = int32(pg.Limit), int32(pg.Offset)
	p.AfterCreatedAt, p.AfterID = pg.Bound()
	rows, total, err := s.rules.List(c.Request.Context(), p)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, renderRule, func(r db.ReconciliationRule) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
}
