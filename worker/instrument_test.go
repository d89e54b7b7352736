package worker

import (
	"context"
	"errors"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// A busy endpoint's task is deferred, not failed: the tasks-failing alert
// must not fire on back-pressure.
func TestInstrumentCountsOutcomes(t *testing.T) {
	t.Parallel()
	m := metrics.New().Tasks
	results := []error{nil, errors.New("boom"), webhook.ErrBusy, nil}
	i := 0
	h := instrument(m, webhookFailure)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		err := results[i]
		i++
		return err
	}))
	for range results {
		_ = h.ProcessTask(context.Background(), asynq.NewTask(webhook.TaskType, nil))
	}
	require.Equal(t, 2.0, testutil.ToFloat64(m.Processed.WithLabelValues(webhook.TaskType, "succeeded")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Processed.WithLabelValues(webhook.TaskType, "failed")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Processed.WithLabelValues(webhook.TaskType, "deferred")))
	require.Equal(t, 1, testutil.CollectAndCount(m.Duration), "one duration series per task type")
}
