package worker

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/webhook"
)

// WebhookConfig tunes the webhook side of a worker.
type WebhookConfig struct {
	webhook.DelivererConfig
	// Concurrency is how many sends a process makes at once. They have an
	// asynq server of their own: a slow consumer holds these, never the
	// matcher's workers.
	Concurrency int
	// DispatchIdle is how long the dispatcher rests when no event waits.
	DispatchIdle time.Duration
}

// DefaultWebhookConfig is the documented default (DESIGN §4).
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{
		DelivererConfig: webhook.DelivererConfig{Timeout: 10 * time.Second, DisableAfter: 5 * 24 * time.Hour, PerEndpoint: 10},
		Concurrency:     50,
		DispatchIdle:    200 * time.Millisecond,
	}
}

// newWebhookServer builds the asynq server of the webhook queue.
func newWebhookServer(cfg WebhookConfig, d Deps) *asynq.Server {
	return asynq.NewServerFromRedisClient(d.Redis, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          map[string]int{webhook.Queue: 1},
		ShutdownTimeout: cfg.Timeout + 5*time.Second,
		// First attempts are queued as events are dispatched; retries and
		// busy endpoints' tasks come back from the scheduled and retry
		// sets, checked every second rather than every five.
		TaskCheckInterval:        100 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           webhookRetryDelay,
		IsFailure:                webhookFailure,
		Logger:                   asynqLogger{d.Logger.With("component", "asynq-webhooks")},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			if !errors.Is(err, webhook.ErrBusy) {
				d.Logger.ErrorContext(ctx, "task failed", "task_type", t.Type(), "err", err.Error())
			}
		}),
	})
}

// webhookFailure: a busy endpoint is back-pressure, not a failure.
func webhookFailure(err error) bool { return !errors.Is(err, webhook.ErrBusy) }

// webhookRetryDelay: a task whose endpoint was busy comes back within a
// second; one that could not run (database away) backs off, at most a
// minute, since its delivery's schedule is what paces the consumer.
func webhookRetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, webhook.ErrBusy) {
		return 200*time.Millisecond + rand.N(800*time.Millisecond)
	}
	return min(retryDelay(n, err, t), time.Minute)
}

// deliverWebhook makes one attempt of a delivery.
func deliverWebhook(d *webhook.Deliverer) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		task, err := webhook.ParseTask(t.Payload())
		if err != nil {
			return errors.Join(err, asynq.SkipRetry)
		}
		return d.Deliver(ctx, task)
	}
}
