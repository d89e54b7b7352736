package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/idempotency"
)

// Task types run by the scheduler.
const TypeExpireIdempotency = "maintenance:expire_idempotency"

// PeriodicTasks is what the scheduler enqueues.
func PeriodicTasks() []Periodic {
	return []Periodic{
		{Type: TypeExpireIdempotency, Every: 10 * time.Minute, Queue: "low"},
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
