package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/importer"
)

// parseImport handles import:parse. A batch resumes where a previous run
// stopped, so a redelivered or retried task neither loses nor doubles rows.
func parseImport(w *importer.Worker) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p importer.BatchTask
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s: %w", t.Type(), errors.Join(err, asynq.SkipRetry))
		}
		return w.Parse(ctx, p.BatchID, importer.TypeParse+":"+p.BatchID.String())
	}
}

// matchImport handles import:match: a completed batch's evidence, matched
// a chunk at a time (a retry takes what is still queued).
func matchImport(w *importer.Worker) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p importer.BatchTask
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("decode %s: %w", t.Type(), errors.Join(err, asynq.SkipRetry))
		}
		return w.Match(ctx, p.BatchID, importer.TypeMatch+":"+p.BatchID.String())
	}
}
