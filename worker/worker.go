// Package worker runs ReconLayer's asynq task handlers. Handlers are thin:
// they decode the task and call a service in internal/, and every one of them
// is idempotent, because asynq delivers at least once.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/sla"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// Queues and their relative priorities: asynq polls a queue in proportion
// to its weight, so urgent work is not starved by bulk work.
var Queues = map[string]int{
	"critical": 6,
	"default":  3,
	"low":      1,
}

// Deps is what the handlers need from the process.
type Deps struct {
	Logger  *slog.Logger
	Pool    *pgxpool.Pool
	Redis   redis.UniversalClient
	Metrics *metrics.Registry
}

// Config tunes the asynq server.
type Config struct {
	Concurrency int
	// Queues overrides the queues and their weights (nil: Queues).
	Queues map[string]int
	// ShutdownTimeout is how long running tasks may finish after a stop
	// signal; tasks still running then are re-queued for another worker.
	ShutdownTimeout time.Duration
	// Webhooks tunes sending webhooks (zero: DefaultWebhookConfig).
	Webhooks WebhookConfig
}

// Worker is one asynq server with ReconLayer's handlers.
type Worker struct {
	srv     *asynq.Server
	mux     *asynq.ServeMux
	log     *slog.Logger
	batcher *batcher
	// The webhook queue's own server, and the dispatcher feeding it.
	hooks      *asynq.Server
	hooksMux   *asynq.ServeMux
	dispatcher *webhook.Dispatcher
	idle       time.Duration
}

// New builds a worker; nothing runs until Run.
func New(cfg Config, d Deps) *Worker {
	if d.Metrics == nil {
		d.Metrics = metrics.New() // recorded, never served
	}
	queues := cfg.Queues
	if len(queues) == 0 {
		queues = Queues
	}
	srv := asynq.NewServerFromRedisClient(d.Redis, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          queues,
		ShutdownTimeout: cfg.ShutdownTimeout,
		// An api request may be waiting for the outcome (evidence answers
		// 201 with it): an idle worker looks for new tasks every 50 ms
		// rather than asynq's default second.
		TaskCheckInterval: 50 * time.Millisecond,
		RetryDelayFunc:    retryDelay,
		Logger:            asynqLogger{d.Logger.With("component", "asynq")},
		LogLevel:          asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			d.Logger.ErrorContext(ctx, "task failed", "task_type", t.Type(), "err", err.Error())
		}),
	})
	mux := asynq.NewServeMux()
	mux.Use(instrument(d.Metrics.Tasks, nil))
	m := matcher.New(d.Pool)
	hooks := cfg.Webhooks
	if hooks.Concurrency == 0 {
		hooks = DefaultWebhookConfig()
	}
	client := asynq.NewClientFromRedisClient(d.Redis)
	enq := webhook.NewEnqueuer(client, hooks.Timeout)
	// Batches of up to 100 records, up to 4 at once; a lone record waits
	// 2 ms for company.
	w := &Worker{
		srv: srv, mux: mux, log: d.Logger, batcher: newBatcher(m, 100, 4, 2*time.Millisecond),
		hooks: newWebhookServer(hooks, d), hooksMux: asynq.NewServeMux(),
		dispatcher: webhook.NewDispatcher(d.Pool, enq, d.Logger), idle: hooks.DispatchIdle,
	}
	register(mux, d, m, w.batcher, client, w.dispatcher)
	w.hooksMux.Use(instrument(d.Metrics.Tasks, webhookFailure))
	w.hooksMux.Handle(webhook.TaskType, deliverWebhook(webhook.NewDeliverer(d.Pool, enq, d.Logger, hooks.DelivererConfig, d.Metrics.Webhooks)))
	return w
}

// retryDelay is asynq's backoff except for failures that do not call for
// one. A task whose worker died (its lease ran out) is retried at once: the
// default backoff would add up to a minute to the lease itself. A deadlock
// or serialization failure lost a race that is gone a moment later: retried
// within a second, a few times, before the default backoff applies. A
// database that went away (restart, failover) is retried every few seconds
// for a while, so work resumes soon after it is back. An auto-match that
// waited its while for another auto-match of its run (ledger.ErrRunBusy)
// waits again a second later: its wait was the backoff.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, asynq.ErrLeaseExpired):
		return 0
	case errors.Is(err, ledger.ErrRunBusy):
		return time.Second
	case errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") && n < 5:
		return time.Duration(100*(n+1)) * time.Millisecond
	case backend.Unavailable(err) && n < 10:
		// Postgres restarting or failing over: back within seconds.
		return time.Duration(n+1) * time.Second
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// register binds every task type to its handler.
func register(mux *asynq.ServeMux, d Deps, m *matcher.Service, b *batcher, client *asynq.Client, dispatcher *webhook.Dispatcher) {
	// The lease and TTL only matter to claims; expiry reads expires_at.
	mux.Handle(TypeExpireIdempotency, expireIdempotency(idempotency.NewStore(d.Pool, time.Minute, 24*time.Hour), d.Logger))
	mux.Handle(tasks.TypeEvidenceMatch, matchEvidence(b, d.Redis, d.Metrics.Matches, d.Logger))
	mux.Handle(tasks.TypeCaseClaim, claimForCase(m, d.Logger))
	mux.Handle(TypeSLAScore, scoreSLA(sla.New(d.Pool), d.Logger))
	mux.Handle(tasks.TypeOutboxSweep, sweepOutbox(tasks.NewSweeper(d.Pool, client, d.Logger), dispatcher))
	imports := importer.NewWorker(d.Pool, tasks.NewEnqueuer(client), func(ctx context.Context, ids []uuid.UUID) error {
		_, err := m.ProcessMany(ctx, ids)
		return err
	}, d.Logger)
	imports.Metrics = d.Metrics.Imports
	mux.Handle(importer.TypeParse, importTask(imports.Parse))
	mux.Handle(importer.TypeMatch, importTask(imports.Match))
	runs := ledger.NewWorker(d.Pool, d.Redis, tasks.NewEnqueuer(client), d.Logger)
	mux.Handle(ledger.TypeSource, ledgerTask(runs.ParseSource))
	mux.Handle(ledger.TypeAutoMatch, ledgerTask(runs.AutoMatch))
	mux.Handle(ledger.TypePurge, ledgerTask(runs.Purge))
	exp := expected.New(d.Pool)
	mux.Handle(tasks.TypeExpectedMatch, matchExpected(exp, d.Logger))
	mux.Handle(TypeExpectedOverdue, markOverdue(exp, d.Logger))
}

// Run processes tasks until ctx is cancelled, then shuts down gracefully.
func (w *Worker) Run(ctx context.Context) error {
	// The batcher outlives the asynq server: tasks still running at
	// shutdown wait on it.
	bctx, stop := context.WithCancel(context.Background())
	batched := make(chan struct{})
	go func() { w.batcher.run(bctx); close(batched) }()
	if err := w.srv.Start(w.mux); err != nil {
		stop()
		<-batched
		return fmt.Errorf("start worker: %w", err)
	}
	if err := w.hooks.Start(w.hooksMux); err != nil {
		w.srv.Shutdown()
		stop()
		<-batched
		return fmt.Errorf("start webhook worker: %w", err)
	}
	dctx, stopDispatch := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() { w.dispatcher.Run(dctx, w.idle); close(dispatched) }()
	w.log.Info("worker started")
	<-ctx.Done()
	stopDispatch()
	<-dispatched
	w.hooks.Shutdown()
	w.srv.Shutdown()
	stop()
	<-batched
	w.log.Info("worker stopped")
	return nil
}

// asynqLogger routes asynq's own log lines into our JSON log.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
