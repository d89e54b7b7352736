package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/ledger"
)

// ledgerTask handles ledger:source, run:automatch and ledger:purge: run does the work
// for the task's run, naming the task (its outbox row, and the key its
// waiter listens on).
func ledgerTask(run func(ctx context.Context, t ledger.Task, taskID string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p ledger.Task
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s: %w", t.Type(), errors.Join(err, asynq.SkipRetry))
		}
		id, _ := asynq.GetTaskID(ctx)
		return run(ctx, p, id)
	}
}
