package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TaskType is the asynq task that makes one attempt of one delivery.
const TaskType = "webhook:deliver"

// Queue is the webhook queue. Workers serve it with an asynq server of its
// own, so that slow consumers never hold the matcher's workers.
const Queue = "webhooks"

// Task asks for one attempt of a delivery: the scheduled attempt number
// Attempt, or, when Manual, an extra attempt outside the schedule.
type Task struct {
	DeliveryID uuid.UUID `json:"deliveryId"`
	Attempt    int32     `json:"attempt,omitempty"`
	Manual     bool      `json:"manual,omitempty"`
	// Nonce tells manual retries of one delivery apart.
	Nonce string `json:"nonce,omitempty"`
}

// id is the asynq task id: one task per scheduled attempt, so the sweeper
// and a redelivered enqueue collapse into one.
func (t Task) id() string {
	if t.Manual {
		return TaskType + ":" + t.DeliveryID.String() + ":manual:" + t.Nonce
	}
	return TaskType + ":" + t.DeliveryID.String() + ":" + strconv.Itoa(int(t.Attempt))
}

// Enqueuer puts delivery tasks on the webhook queue.
type Enqueuer struct {
	client  *asynq.Client
	timeout time.Duration
}

// NewEnqueuer wraps an asynq client; sendTimeout bounds one HTTP attempt.
func NewEnqueuer(client *asynq.Client, sendTimeout time.Duration) *Enqueuer {
	return &Enqueuer{client: client, timeout: sendTimeout + 30*time.Second}
}

// maxRetry: a task is retried by asynq only when it could not run (its
// endpoint busy, the database away); failed sends are rescheduled as new
// tasks. It must never be archived, which would keep its id taken.
const maxRetry = 1 << 20

// Enqueue queues t to run at at (now or later). A task already queued is
// not an error.
func (e *Enqueuer) Enqueue(ctx context.Context, t Task, at time.Time) error {
	payload, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode webhook task: %w", err)
	}
	opts := []asynq.Option{asynq.TaskID(t.id()), asynq.Queue(Queue), asynq.MaxRetry(maxRetry), asynq.Timeout(e.timeout)}
	if at.After(time.Now()) {
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err = e.client.EnqueueContext(ctx, asynq.NewTask(TaskType, payload), opts...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", t.id(), err)
	}
	return nil
}

// ParseTask decodes a task's payload.
func ParseTask(payload []byte) (Task, error) {
	var t Task
	if err := json.Unmarshal(payload, &t); err != nil || t.DeliveryID == uuid.Nil {
		return t, fmt.Errorf("decode webhook task %q: %w", payload, errors.Join(err, errors.New("no delivery id")))
	}
	return t, nil
}
