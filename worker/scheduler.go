package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

// Periodic is a task the scheduler enqueues once per interval.
type Periodic struct {
	Type  string
	Every time.Duration
	Queue string
}

// Scheduler enqueues periodic tasks. Each tick's task id is the task type plus
// the start of its time bucket, and the id is retained after the task runs,
// so a second scheduler started by mistake (or a restart within the bucket)
// collapses into the same task instead of running the tick twice.
type Scheduler struct {
	client *asynq.Client
	tasks  []Periodic
	log    *slog.Logger
	now    func() time.Time
}

// NewScheduler builds a scheduler over an asynq client.
func NewScheduler(client *asynq.Client, logger *slog.Logger, tasks []Periodic) *Scheduler {
	return &Scheduler{client: client, tasks: tasks, log: logger, now: time.Now}
}

// Run enqueues every task at each of its ticks until ctx is cancelled.
func (s *Scheduler) Run(ctx context.Context) error {
	s.log.Info("scheduler started", "tasks", len(s.tasks))
	var wg sync.WaitGroup
	for _, p := range s.tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, p)
		}()
	}
	wg.Wait()
	s.log.Info("scheduler stopped")
	return nil
}

func (s *Scheduler) loop(ctx context.Context, p Periodic) {
	for {
		s.Tick(ctx, p)
		next := s.now().Truncate(p.Every).Add(p.Every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// Tick enqueues p's task for the bucket containing now; a duplicate of a
// bucket already enqueued by any scheduler is not an error.
func (s *Scheduler) Tick(ctx context.Context, p Periodic) {
	bucket := s.now().Truncate(p.Every)
	id := p.Type + ":" + strconv.FormatInt(bucket.Unix(), 10)
	_, err := s.client.EnqueueContext(ctx, asynq.NewTask(p.Type, nil),
		asynq.TaskID(id), asynq.Queue(p.Queue),
		asynq.Retention(2*p.Every), asynq.MaxRetry(0), asynq.Timeout(p.Every))
	switch {
	case err == nil:
		s.log.Debug("periodic task enqueued", "task_type", p.Type, "task_id", id)
	case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
		s.log.Debug("periodic task already enqueued for this tick", "task_type", p.Type, "task_id", id)
	case ctx.Err() != nil:
	default:
		s.log.Error("enqueue periodic task", "task_type", p.Type, "err", fmt.Sprint(err))
	}
}
