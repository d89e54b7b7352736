package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// matchEvidence handles evidence:match. The matcher's transaction makes a
// redelivered task a no-op that reports the same outcome.
func matchEvidence(b *batcher, rdb redis.UniversalClient, matches *prometheus.CounterVec, logger *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p tasks.EvidenceMatch
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
		}
		out, err := b.match(ctx, p.OrganizationID, p.RawRecordID)
		if errors.Is(err, matcher.ErrRawRecordNotFound) {
			return fmt.Errorf("match evidence %s: %w: %w", p.RawRecordID, err, asynq.SkipRetry)
		}
		if err != nil {
			return fmt.Errorf("match evidence %s: %w", p.RawRecordID, err)
		}
		strategy := out.Strategy
		if strategy == "" {
			strategy = "none"
		}
		matches.WithLabelValues(out.Status, strategy).Inc()
		if p.Notify != "" {
			body, _ := json.Marshal(out)
			if err := tasks.Publish(ctx, rdb, p.Notify, p.RawRecordID.String(), body); err != nil {
				logger.WarnContext(ctx, "publish evidence outcome", "raw_record_id", p.RawRecordID.String(), "err", err.Error())
			}
		}
		return nil
	}
}

// claimForCase handles case:claim: free evidence a new case may own.
func claimForCase(m *matcher.Service, logger *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p tasks.CaseClaim
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
		}
		n, err := m.Claim(ctx, p.OrganizationID, p.CaseID, tasks.CaseClaimID(p.CaseID))
		if errors.Is(err, matcher.ErrCaseNotFound) {
			return fmt.Errorf("claim for case %s: %w: %w", p.CaseID, err, asynq.SkipRetry)
		}
		if err != nil {
			return fmt.Errorf("claim for case %s: %w", p.CaseID, err)
		}
		if n > 0 {
			logger.InfoContext(ctx, "case claimed earlier evidence", "case_id", p.CaseID.String(), "legs", n)
		}
		return nil
	}
}

// sweepOutbox handles the periodic outbox sweep.
func sweepOutbox(s *tasks.Sweeper, d *webhook.Dispatcher) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, err := s.Sweep(ctx)
		if _, werr := d.Sweep(ctx); werr != nil {
			err = errors.Join(err, werr)
		}
		return err
	}
}
