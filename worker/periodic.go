package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/sla"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// Task types run by the scheduler.
const (
	TypeExpireIdempotency = "maintenance:expire_idempotency"
	TypeSLAScore          = "sla:score"
)

// PeriodicTasks is what the scheduler enqueues; slaEvery is how often SLA
// risk and delays are scored.
func PeriodicTasks(slaEvery time.Duration) []Periodic {
	return []Periodic{
		{Type: TypeSLAScore, Every: slaEvery, Queue: "default"},
		{Type: TypeExpireIdempotency, Every: 10 * time.Minute, Queue: "low"},
		{Type: TypeExpectedOverdue, Every: time.Minute, Queue: "low"},
		// Seconds after Redis comes back, work accepted while it was away
		// is queued.
		{Type: tasks.TypeOutboxSweep, Every: 5 * time.Second, Queue: "critical"},
	}
}

// expireIdempotency deletes idempotency records past their 24 h; running it
// twice deletes nothing more, so redelivery is harmless.
func expireIdempotency(store *idempotency.Store, logger *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		n, err := store.DeleteExpired(ctx)
		if err != nil {
			return fmt.Errorf("expire idempotency records: %w", err)
		}
		if n > 0 {
			logger.InfoContext(ctx, "expired idempotency records", "deleted", n)
		}
		return nil
	}
}

// scoreSLA runs one SLA sweep. A sweep is idempotent (it writes only cases
// whose outcome changes), so a redelivered tick changes nothing more.
func scoreSLA(scorer *sla.Scorer, logger *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		start := time.Now()
		res, err := scorer.Sweep(ctx)
		if err != nil {
			return err
		}
		logger.InfoContext(ctx, "sla sweep", "visited", res.Visited, "changed", res.Changed,
			"at_risk", res.AtRisk, "delayed", res.Delayed, "took_ms", time.Since(start).Milliseconds())
		return nil
	}
}
