package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// Task types run by the scheduler.
const TypeExpireIdempotency = "maintenance:expire_idempotency"

// PeriodicTasks is what the scheduler enqueues.
func PeriodicTasks() []Periodic {
	return []Periodic{
		{Type: TypeExpireIdempotency, Every: 10 * time.Minute, Queue: "low"},
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
