// Package tasks names ReconLayer's asynq tasks and gets them to the queue
// reliably: every task that announces accepted work is first written to the
// transactional outbox (task_outbox) with that work, then enqueued; the
// sweeper enqueues what Redis missed. It also carries task outcomes back to
// an api process that waits for them (Redis pub/sub).
package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Task types.
const (
	TypeEvidenceMatch = "evidence:match"
	TypeCaseClaim     = "case:claim"
	TypeOutboxSweep   = "maintenance:sweep_outbox"
	TypeExpectedMatch = "expected:match"
)

// QueueMatch is where matching work goes.
const QueueMatch = "default"

// SweepDelay is how long an outbox row waits for its normal enqueue (and for
// the handler to delete it) before the sweeper enqueues it again.
const SweepDelay = 10 * time.Second

// EvidenceMatch asks a worker to normalize and match one raw record.
type EvidenceMatch struct {
	OrganizationID uuid.UUID `json:"organizationId"`
	RawRecordID    uuid.UUID `json:"rawRecordId"`
	// Notify is the pub/sub channel of an api process waiting for the
	// outcome; empty when nobody waits.
	Notify string `json:"notify,omitempty"`
}

// CaseClaim asks a worker to attach free legs a new case could own.
type CaseClaim struct {
	OrganizationID uuid.UUID `json:"organizationId"`
	CaseID         uuid.UUID `json:"caseId"`
}

// ExpectedMatch asks a worker to reconcile an organization's pending
// transactions to its expected payments.
type ExpectedMatch struct {
	OrganizationID uuid.UUID `json:"organizationId"`
}

// EvidenceMatchID is the asynq task id of a raw record's match task: the
// same record is never queued twice at once.
func EvidenceMatchID(rawRecordID uuid.UUID) string {
	return TypeEvidenceMatch + ":" + rawRecordID.String()
}

// CaseClaimID is the asynq task id of a case's claim task.
func CaseClaimID(caseID uuid.UUID) string { return TypeCaseClaim + ":" + caseID.String() }

// Job is a task ready to enqueue, and to record in the outbox.
type Job struct {
	ID             string
	Type           string
	Queue          string
	Payload        []byte
	OrganizationID *uuid.UUID
	// Timeout bounds one run (0: two minutes). It is not kept in the
	// outbox: a job the sweeper enqueues gets the default.
	Timeout time.Duration
}

// NewEvidenceMatch builds the job for a raw record.
func NewEvidenceMatch(p EvidenceMatch) Job {
	b, _ := json.Marshal(p)
	return Job{ID: EvidenceMatchID(p.RawRecordID), Type: TypeEvidenceMatch, Queue: QueueMatch, Payload: b, OrganizationID: &p.OrganizationID}
}

// NewCaseClaim builds the job for a new case.
func NewCaseClaim(p CaseClaim) Job {
	b, _ := json.Marshal(p)
	return Job{ID: CaseClaimID(p.CaseID), Type: TypeCaseClaim, Queue: QueueMatch, Payload: b, OrganizationID: &p.OrganizationID}
}

// Record writes the job to the outbox with q, bound to the transaction of
// the work it announces.
func Record(ctx context.Context, q *db.Queries, j Job) error {
	err := q.InsertTaskOutbox(ctx, db.InsertTaskOutboxParams{
		TaskID: j.ID, TaskType: j.Type, Queue: j.Queue, Payload: j.Payload,
		OrganizationID: j.OrganizationID, NextAttemptAt: time.Now().Add(SweepDelay),
	})
	if err != nil {
		return fmt.Errorf("record task %s in outbox: %w", j.ID, err)
	}
	return nil
}

// Done removes a handled task's outbox row, with q bound to the handler's
// transaction, so that the work and its removal from the outbox commit
// together.
func Done(ctx context.Context, q *db.Queries, taskID string) error {
	if err := q.DeleteTaskOutbox(ctx, taskID); err != nil {
		return fmt.Errorf("clear outbox row %s: %w", taskID, err)
	}
	return nil
}

// Enqueuer puts jobs on the asynq queues.
type Enqueuer struct{ client *asynq.Client }

// NewEnqueuer wraps an asynq client.
func NewEnqueuer(client *asynq.Client) *Enqueuer { return &Enqueuer{client: client} }

// Enqueue queues j. A job whose id is already queued (the api and the
// sweeper raced, or a retry) is not an error: it will run once.
func (e *Enqueuer) Enqueue(ctx context.Context, j Job) error {
	_, err := e.enqueue(ctx, j)
	return err
}

// enqueue queues j and tells whether it was queued now (false: its id was
// already queued).
func (e *Enqueuer) enqueue(ctx context.Context, j Job) (bool, error) {
	timeout := j.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	_, err := e.client.EnqueueContext(ctx, asynq.NewTask(j.Type, j.Payload), asynq.TaskID(j.ID),
		asynq.Queue(j.Queue), asynq.MaxRetry(25), asynq.Timeout(timeout))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return false, nil
	}
	return false, fmt.Errorf("enqueue %s: %w", j.ID, err)
}
