package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/importer"
)

// importTask handles import:parse or import:match: run does the step for
// the task's batch, naming the task's outbox row. Both steps pick up where
// a previous run stopped, so a redelivered or retried task neither loses
// nor doubles anything.
func importTask(run func(ctx context.Context, batchID uuid.UUID, taskID string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p importer.BatchTask
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s: %w", t.Type(), errors.Join(err, asynq.SkipRetry))
		}
		return run(ctx, p.BatchID, importer.JobID(t.Type(), p.BatchID))
	}
}
