package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Sweeper enqueues outbox rows whose task never reached Redis, or whose
// task Redis lost.
type Sweeper struct {
	pool *pgxpool.Pool
	enq  *Enqueuer
	log  *slog.Logger
	// Batch bounds one sweep; the next sweep takes the rest.
	Batch int32
}

// NewSweeper builds a sweeper.
func NewSweeper(pool *pgxpool.Pool, client *asynq.Client, logger *slog.Logger) *Sweeper {
	return &Sweeper{pool: pool, enq: NewEnqueuer(client), log: logger, Batch: 500}
}

// Sweep enqueues due outbox rows and pushes each one's next attempt out; a
// row disappears when its handler succeeds. A task still queued (its id is
// taken) is left alone until later. It returns how many were enqueued.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	enqueued := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		rows, err := q.DueTaskOutbox(ctx, s.Batch)
		if err != nil {
			return fmt.Errorf("read due outbox rows: %w", err)
		}
		for _, r := range rows {
			queued, err := s.enq.enqueue(ctx, Job{ID: r.TaskID, Type: r.TaskType, Queue: r.Queue, Payload: r.Payload})
			if err != nil {
				// Redis is still away: try again at the next sweep.
				return err
			}
			if queued {
				enqueued++
			}
			backoff := time.Duration(min(r.Attempts+1, 30)) * SweepDelay
			if err := q.DeferTaskOutbox(ctx, db.DeferTaskOutboxParams{TaskID: r.TaskID, NextAttemptAt: time.Now().Add(backoff)}); err != nil {
				return fmt.Errorf("defer outbox row %s: %w", r.TaskID, err)
			}
		}
		return nil
	})
	if enqueued > 0 {
		s.log.InfoContext(ctx, "outbox sweep enqueued tasks", "enqueued", enqueued)
	}
	return enqueued, err
}

// Run sweeps every interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "outbox sweep", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
