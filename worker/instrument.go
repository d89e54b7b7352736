package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/logging"
	"github.com/reconlayer/reconlayer/internal/metrics"
)

// instrument counts and times every task by type and outcome (succeeded,
// failed, or deferred: an error isFailure does not count, such as a busy
// webhook endpoint's back-pressure), and puts the task's type and id on
// every log line written while it runs. A nil isFailure counts every error.
func instrument(m *metrics.Tasks, isFailure func(error) bool) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			attrs := []slog.Attr{slog.String("task_type", t.Type())}
			if id, ok := asynq.GetTaskID(ctx); ok {
				attrs = append(attrs, slog.String("task_id", id))
			}
			ctx = logging.With(ctx, attrs...)
			start := time.Now()
			err := next.ProcessTask(ctx, t)
			outcome := "succeeded"
			switch {
			case err != nil && (isFailure == nil || isFailure(err)):
				outcome = "failed"
			case err != nil:
				outcome = "deferred"
			}
			m.Processed.WithLabelValues(t.Type(), outcome).Inc()
			m.Duration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
			return err
		})
	}
}
