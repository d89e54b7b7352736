package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
)

// Dispatcher turns recorded events into deliveries: each event is rendered
// once and gets one delivery per active endpoint of its organization that
// subscribes to it, in the transaction that marks it dispatched; then the
// first attempt of each delivery is queued. Dispatchers in several workers
// share the backlog (SKIP LOCKED); an event is dispatched once.
type Dispatcher struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	enq   *Enqueuer
	log   *slog.Logger
	batch int32
}

// NewDispatcher builds a dispatcher taking up to 500 events at a time.
func NewDispatcher(pool *pgxpool.Pool, enq *Enqueuer, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{pool: pool, q: db.New(pool), enq: enq, log: logger, batch: 500}
}

// Dispatched is what one pass did.
type Dispatched struct {
	Events     int // events taken off the outbox
	Deliveries int // deliveries created (and queued)
}

// Once dispatches one batch of pending events.
func (d *Dispatcher) Once(ctx context.Context) (Dispatched, error) {
	var res Dispatched
	var created []uuid.UUID
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		q := d.q.WithTx(tx)
		events, err := q.ClaimUndispatchedEvents(ctx, d.batch)
		if err != nil {
			return fmt.Errorf("claim events: %w", err)
		}
		res.Events = len(events)
		if len(events) == 0 {
			return nil
		}
		wanted, err := d.subscribers(ctx, q, events)
		if err != nil {
			return err
		}
		payloads, err := d.render(ctx, q, events, wanted)
		if err != nil {
			return err
		}
		mark := db.MarkEventsDispatchedParams{Ids: make([]uuid.UUID, len(events)), Payloads: payloads}
		var ins db.InsertWebhookDeliveriesParams
		for i, e := range events {
			mark.Ids[i] = e.ID
			if payloads[i] == nil {
				continue
			}
			for _, endpoint := range wanted[i] {
				ins.OrganizationIds = append(ins.OrganizationIds, e.OrganizationID)
				ins.EndpointIds = append(ins.EndpointIds, endpoint)
				ins.EventIds = append(ins.EventIds, e.ID)
				ins.EventTypes = append(ins.EventTypes, e.EventType)
			}
		}
		if err := q.MarkEventsDispatched(ctx, mark); err != nil {
			return fmt.Errorf("mark events dispatched: %w", err)
		}
		if len(ins.EventIds) == 0 {
			return nil
		}
		if created, err = q.InsertWebhookDeliveries(ctx, ins); err != nil {
			return fmt.Errorf("record deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return Dispatched{}, err
	}
	res.Deliveries = len(created)
	now := time.Now()
	// Enqueues are round trips to Redis: several at once.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, id := range created {
		g.Go(func() error { return d.enq.Enqueue(gctx, Task{DeliveryID: id, Attempt: 1}, now) })
	}
	if err := g.Wait(); err != nil {
		// The deliveries are recorded: the sweeper queues what is missing.
		d.log.WarnContext(ctx, "queue webhook deliveries; left to the sweeper", "err", err.Error())
	}
	return res, nil
}

// subscribers lists, per event, the active endpoints that want it.
func (d *Dispatcher) subscribers(ctx context.Context, q *db.Queries, events []db.ClaimUndispatchedEventsRow) ([][]uuid.UUID, error) {
	var orgs []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, e := range events {
		if !seen[e.OrganizationID] {
			seen[e.OrganizationID] = true
			orgs = append(orgs, e.OrganizationID)
		}
	}
	endpoints, err := q.ActiveWebhookEndpoints(ctx, orgs)
	if err != nil {
		return nil, fmt.Errorf("read webhook endpoints: %w", err)
	}
	byOrg := map[uuid.UUID][]db.ActiveWebhookEndpointsRow{}
	for _, e := range endpoints {
		byOrg[e.OrganizationID] = append(byOrg[e.OrganizationID], e)
	}
	wanted := make([][]uuid.UUID, len(events))
	for i, e := range events {
		for _, endpoint := range byOrg[e.OrganizationID] {
			if subscribed(endpoint.SubscribedEvents, e.EventType) {
				wanted[i] = append(wanted[i], endpoint.ID)
			}
		}
	}
	return wanted, nil
}

// render builds the body of every event somebody wants (nil for the
// others), reading the cases involved a few queries per organization.
func (d *Dispatcher) render(ctx context.Context, q *db.Queries, events []db.ClaimUndispatchedEventsRow, wanted [][]uuid.UUID) ([][]byte, error) {
	caseIDs := map[uuid.UUID][]uuid.UUID{}
	for i, e := range events {
		if len(wanted[i]) > 0 && e.CaseID != nil {
			caseIDs[e.OrganizationID] = append(caseIDs[e.OrganizationID], *e.CaseID)
		}
	}
	bundles := map[uuid.UUID]cases.Bundle{}
	for org, ids := range caseIDs {
		got, err := cases.ReadBundles(ctx, q, org, ids)
		if err != nil {
			return nil, fmt.Errorf("read cases of events: %w", err)
		}
		for id, b := range got {
			bundles[id] = b
		}
	}
	payloads := make([][]byte, len(events))
	for i, e := range events {
		if len(wanted[i]) == 0 {
			continue
		}
		if e.CaseID == nil {
			// Not about a case (an import batch): its data was rendered
			// when it happened.
			body, err := json.Marshal(envelope{Type: e.EventType, Timestamp: e.CreatedAt.UTC(), Data: json.RawMessage(e.Data)})
			if err != nil {
				return nil, fmt.Errorf("render %s event %s: %w", e.EventType, e.ID, err)
			}
			payloads[i] = body
			continue
		}
		b, ok := bundles[*e.CaseID]
		if !ok {
			d.log.ErrorContext(ctx, "webhook event's case is gone; not delivered",
				"event_id", e.ID.String(), "event_type", e.EventType)
			continue
		}
		body, err := render(e.EventType, e.CreatedAt, b)
		if err != nil {
			return nil, err
		}
		payloads[i] = body
	}
	return payloads, nil
}

// Run dispatches until ctx ends: batch after batch while there is a
// backlog, then a pass every idle.
func (d *Dispatcher) Run(ctx context.Context, idle time.Duration) {
	for {
		res, err := d.Once(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "webhook dispatch", "err", err.Error())
		}
		if err == nil && res.Events == int(d.batch) {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(idle):
		}
	}
}

// SweepGrace is how overdue a pending delivery must be before the sweeper
// queues it again: its task was lost (Redis away at enqueue, or wiped).
const SweepGrace = 30 * time.Second

// Sweep queues up to 500 pending deliveries overdue by SweepGrace. A
// delivery whose task is still queued (a backlog, not a loss) keeps that
// task: the ids collide. It returns how many it looked at.
func (d *Dispatcher) Sweep(ctx context.Context) (int, error) {
	rows, err := d.q.OverdueWebhookDeliveries(ctx, db.OverdueWebhookDeliveriesParams{Before: time.Now().Add(-SweepGrace), Lim: 500})
	if err != nil {
		return 0, fmt.Errorf("read overdue deliveries: %w", err)
	}
	now := time.Now()
	for _, r := range rows {
		if err := d.enq.Enqueue(ctx, Task{DeliveryID: r.ID, Attempt: r.NextAttempt}, now); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
