// Package ruleset stores an organization's reconciliation rules and picks
// the one that applies (rule.Select over the active rules).
package ruleset

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// ErrNotFound: no such rule in the organization.
var ErrNotFound = errors.New("reconciliation rule not found")

// Service owns reconciliation_rules.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool)} }

// FromRow converts a stored rule.
func FromRow(r db.ReconciliationRule) rule.Rule {
	return rule.Rule{
		ID: r.ID, Name: r.Name, Priority: r.Priority, PaymentType: r.PaymentType, SourceType: r.SourceType,
		IsActive: r.IsActive, AmountTolerance: r.AmountTolerance.Dec(), AmountToleranceBps: r.AmountToleranceBps,
		TimeWindowMinutes: r.TimeWindowMinutes, AllowExplicitIDMatch: r.AllowExplicitIDMatch,
		AllowProviderIDMatch: r.AllowProviderIDMatch, AllowTxHashMatch: r.AllowTxHashMatch,
		AllowReferenceExactMatch: r.AllowReferenceExactMatch, AllowAmountAndTimeWindowMatch: r.AllowAmountAndTimeWindowMatch,
		RequiredLegTypes: r.RequiredLegTypes, RequireAllRequiredLegs: r.RequireAllRequiredLegs,
		ExpectedCompletionMinutes: r.ExpectedCompletionMinutes, SLARiskThresholdPercent: r.SlaRiskThresholdPercent,
		DelayedSettlementThresholdMinutes: r.DelayedSettlementThresholdMinutes,
	}
}

// Select returns the rule that applies to a payment type (and evidence
// source), read with q so that it can run inside the caller's transaction.
func Select(ctx context.Context, q *db.Queries, org uuid.UUID, paymentType string, sourceType *string) (rule.Rule, error) {
	rows, err := q.ActiveRules(ctx, org)
	if err != nil {
		return rule.Rule{}, fmt.Errorf("load rules: %w", err)
	}
	rules := make([]rule.Rule, len(rows))
	for i, r := range rows {
		rules[i] = FromRow(r)
	}
	return rule.Select(rules, paymentType, sourceType), nil
}

func params(org uuid.UUID, r rule.Rule) db.CreateRuleParams {
	return db.CreateRuleParams{
		OrganizationID: org, Name: r.Name, Priority: r.Priority, PaymentType: r.PaymentType, SourceType: r.SourceType,
		IsActive: r.IsActive, AmountTolerance: numeric.From(r.AmountTolerance), AmountToleranceBps: r.AmountToleranceBps,
		TimeWindowMinutes: r.TimeWindowMinutes, AllowExplicitIDMatch: r.AllowExplicitIDMatch,
		AllowProviderIDMatch: r.AllowProviderIDMatch, AllowTxHashMatch: r.AllowTxHashMatch,
		AllowReferenceExactMatch: r.AllowReferenceExactMatch, AllowAmountAndTimeWindowMatch: r.AllowAmountAndTimeWindowMatch,
		RequiredLegTypes: r.RequiredLegTypes, RequireAllRequiredLegs: r.RequireAllRequiredLegs,
		ExpectedCompletionMinutes: r.ExpectedCompletionMinutes, SlaRiskThresholdPercent: r.SLARiskThresholdPercent,
		DelayedSettlementThresholdMinutes: r.DelayedSettlementThresholdMinutes,
	}
}

// Create stores a validated rule.
func (s *Service) Create(ctx context.Context, org uuid.UUID, r rule.Rule, finish txn.Finish[db.ReconciliationRule]) (db.ReconciliationRule, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.ReconciliationRule, error) {
		row, err := s.q.WithTx(tx).CreateRule(ctx, params(org, r))
		if err != nil {
			return row, fmt.Errorf("create rule: %w", err)
		}
		return row, nil
	}, finish)
}

// Get reads one rule.
func (s *Service) Get(ctx context.Context, org, id uuid.UUID) (db.ReconciliationRule, error) {
	r, err := s.q.GetRule(ctx, db.GetRuleParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// Update applies change to the stored rule under a row lock and validates
// the result with check (a PATCH is validated as the whole rule it produces).
func (s *Service) Update(ctx context.Context, org, id uuid.UUID, change func(*rule.Rule) error) (db.ReconciliationRule, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.ReconciliationRule, error) {
		q := s.q.WithTx(tx)
		cur, err := q.GetRuleForUpdate(ctx, db.GetRuleForUpdateParams{OrganizationID: org, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return cur, ErrNotFound
		}
		if err != nil {
			return cur, err
		}
		r := FromRow(cur)
		if err := change(&r); err != nil {
			return cur, err
		}
		p := params(org, r)
		return q.UpdateRule(ctx, db.UpdateRuleParams{
			OrganizationID: org, ID: id, Name: p.Name, Priority: p.Priority, PaymentType: p.PaymentType,
			SourceType: p.SourceType, IsActive: p.IsActive, AmountTolerance: p.AmountTolerance,
			AmountToleranceBps: p.AmountToleranceBps, TimeWindowMinutes: p.TimeWindowMinutes,
			AllowExplicitIDMatch: p.AllowExplicitIDMatch, AllowProviderIDMatch: p.AllowProviderIDMatch,
			AllowTxHashMatch: p.AllowTxHashMatch, AllowReferenceExactMatch: p.AllowReferenceExactMatch,
			AllowAmountAndTimeWindowMatch: p.AllowAmountAndTimeWindowMatch, RequiredLegTypes: p.RequiredLegTypes,
			RequireAllRequiredLegs: p.RequireAllRequiredLegs, ExpectedCompletionMinutes: p.ExpectedCompletionMinutes,
			SlaRiskThresholdPercent: p.SlaRiskThresholdPercent, DelayedSettlementThresholdMinutes: p.DelayedSettlementThresholdMinutes,
		})
	}, nil)
}

// Delete retires a rule; cases opened under it keep their snapshot.
func (s *Service) Delete(ctx context.Context, org, id uuid.UUID) (db.ReconciliationRule, error) {
	r, err := s.q.DeleteRule(ctx, db.DeleteRuleParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// List returns a page of rules (newest first) and the total.
func (s *Service) List(ctx context.Context, p db.ListRulesParams) ([]db.ReconciliationRule, int64, error) {
	total, err := s.q.CountRules(ctx, db.CountRulesParams{OrganizationID: p.OrganizationID, PaymentType: p.PaymentType})
	if err != nil {
		return nil, 0, fmt.Errorf("count rules: %w", err)
	}
	rows, err := s.q.ListRules(ctx, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list rules: %w", err)
	}
	return rows, total, nil
}

// ListByPriority returns a page of the organization's rules in the order
// they are tried (priority, then creation) and the total.
func (s *Service) ListByPriority(ctx context.Context, org uuid.UUID, p page.Page) ([]db.ReconciliationRule, int64, error) {
	total, err := s.q.CountRules(ctx, db.CountRulesParams{OrganizationID: org})
	if err != nil {
		return nil, 0, fmt.Errorf("count rules: %w", err)
	}
	rows, err := s.q.ListRulesByPriority(ctx, db.ListRulesByPriorityParams{OrganizationID: org, Lim: int32(p.Limit), Off: int32(p.Offset)})
	if err != nil {
		return nil, 0, fmt.Errorf("list rules: %w", err)
	}
	return rows, total, nil
}
