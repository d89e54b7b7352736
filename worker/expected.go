package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// TypeExpectedOverdue marks expected payments past their date bounds.
const TypeExpectedOverdue = "expected:overdue"

// matchExpected reconciles an organization's pending transactions. Any
// task of the organization drains every pending transaction, so a task
// that finds its work done by another ends at once.
func matchExpected(svc *expected.Service, logger *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p tasks.ExpectedMatch
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s: %w", t.Type(), errors.Join(err, asynq.SkipRetry))
		}
		id, _ := asynq.GetTaskID(ctx)
		start := time.Now()
		res, err := svc.MatchPending(ctx, p.OrganizationID, id)
		if err != nil {
			return err
		}
		if res.Transactions > 0 {
			logger.InfoContext(ctx, "transactions matched", "organization_id", p.OrganizationID.String(),
				"transactions", res.Transactions, "reconciled", res.Reconciled, "review", res.Review,
				"took_ms", time.Since(start).Milliseconds())
		}
		return nil
	}
}

// markOverdue marks what is overdue today, in batches; marking is once per
// payment, so a redelivered tick marks nothing twice.
func markOverdue(svc *expected.Service, logger *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		total := 0
		for {
			n, err := svc.MarkOverdue(ctx, time.Now().UTC(), 1000)
			if err != nil {
				return err
			}
			total += n
			if n < 1000 {
				break
			}
		}
		if total > 0 {
			logger.InfoContext(ctx, "expected payments overdue", "marked", total)
		}
		return nil
	}
}
