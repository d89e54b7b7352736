package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/page"
)

type bundle struct {
	pool *pgxpool.Pool
	q    *db.Queries
	rdb  *redis.Client
	enq  *Enqueuer
	svc  *Service
	log  *slog.Logger
}

func setup(t *testing.T) *bundle {
	t.Helper()
	pool := dbtest.Postgres(t)
	rdb, _ := dbtest.Redis(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	enq := NewEnqueuer(asynq.NewClientFromRedisClient(rdb), time.Second)
	return &bundle{pool: pool, q: db.New(pool), rdb: rdb, enq: enq, svc: NewService(pool, enq, log), log: log}
}

func (b *bundle) org(t *testing.T, name string) uuid.UUID {
	t.Helper()
	o, err := b.q.CreateOrganization(context.Background(), name)
	require.NoError(t, err)
	return o.ID
}

func (b *bundle) endpoint(t *testing.T, org uuid.UUID, url string, events ...string) db.WebhookEndpoint {
	t.Helper()
	e, err := b.svc.Create(context.Background(), CreateInput{OrganizationID: org, URL: url, SubscribedEvents: events}, nil)
	require.NoError(t, err)
	return e.Endpoint
}

func (b *bundle) intent(t *testing.T, org uuid.UUID, ref string) intent.Result {
	t.Helper()
	r, err := intent.New(b.pool).Create(context.Background(), intent.CreateInput{
		OrganizationID: org, Actor: "test", ExternalReference: ref,
		SourceAmount: decimal.RequireFromString("100"), SourceCurrency: "USD",
		DestinationAmount: decimal.RequireFromString("100"), DestinationCurrency: "USD",
		PaymentType: "other", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}, nil)
	require.NoError(t, err)
	return r
}

// queued lists the ids of the webhook tasks waiting in Redis (pending and
// scheduled).
func (b *bundle) queued(t *testing.T) []string {
	t.Helper()
	in := asynq.NewInspectorFromRedisClient(b.rdb)
	var ids []string
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){in.ListPendingTasks, in.ListScheduledTasks} {
		tasks, err := list(Queue, asynq.PageSize(10000))
		if !errors.Is(err, asynq.ErrQueueNotFound) {
			require.NoError(t, err)
		}
		for _, task := range tasks {
			ids = append(ids, task.ID)
		}
	}
	return ids
}

var pageAll = page.Page{Limit: 100}

// Several dispatchers on one backlog: every event is dispatched once, each
// subscribed active endpoint gets exactly one delivery of it (and its first
// attempt queued once), others none; events nobody wants are marked
// dispatched without being rendered.
func TestDispatchOncePerSubscribedEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	acme, other := b.org(t, "Acme"), b.org(t, "Other")
	all := b.endpoint(t, acme, "https://a.example.com/hooks", AllEvents)
	created := b.endpoint(t, acme, "https://b.example.com/hooks", "payment_intent.created")
	reconciled := b.endpoint(t, acme, "https://c.example.com/hooks", "reconciliation_case.reconciled")
	off := b.endpoint(t, acme, "https://d.example.com/hooks", AllEvents)
	_, err := b.svc.Update(ctx, acme, off.ID, UpdateInput{Status: &[]string{StatusDisabled}[0]})
	require.NoError(t, err)
	const n = 120
	for i := range n {
		b.intent(t, acme, fmt.Sprint("acme-", i))
		b.intent(t, other, fmt.Sprint("other-", i))
	}

	var wg sync.WaitGroup
	var events atomic.Int64
	for range 3 {
		d := NewDispatcher(b.pool, b.enq, b.log)
		d.batch = 25
		wg.Go(func() {
			for {
				res, err := d.Once(ctx)
				require.NoError(t, err)
				if res.Events == 0 {
					return
				}
				events.Add(int64(res.Events))
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 2*n, events.Load(), "each event taken once")

	count := func(endpoint uuid.UUID) int64 {
		c, err := b.q.CountWebhookDeliveries(ctx, db.CountWebhookDeliveriesParams{OrganizationID: acme, EndpointID: endpoint})
		require.NoError(t, err)
		return c
	}
	require.EqualValues(t, n, count(all.ID))
	require.EqualValues(t, n, count(created.ID))
	require.Zero(t, count(reconciled.ID), "not subscribed")
	require.Zero(t, count(off.ID), "disabled")
	require.Len(t, b.queued(t), 2*n, "one first attempt queued per delivery")

	var undispatched, rendered, bare int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE dispatched_at IS NULL),
		count(*) FILTER (WHERE organization_id = $1 AND payload IS NOT NULL),
		count(*) FILTER (WHERE organization_id = $2 AND payload IS NULL) FROM event_outbox`, acme, other).Scan(&undispatched, &rendered, &bare))
	require.Zero(t, undispatched)
	require.Equal(t, n, rendered)
	require.Equal(t, n, bare, "nobody subscribed: not rendered")

	// The body is the intent as the API shows it, with its case's sequence.
	var body []byte
	var caseID uuid.UUID
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT payload, case_id FROM event_outbox WHERE organization_id = $1 LIMIT 1`, acme).Scan(&body, &caseID))
	var ev struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &ev))
	require.Equal(t, "payment_intent.created", ev.Type)
	require.False(t, ev.Timestamp.IsZero())
	require.Equal(t, caseID.String(), ev.Data["case"].(map[string]any)["id"])
	require.EqualValues(t, 1, ev.Data["sequence"])
	require.Contains(t, ev.Data, "auditEvents")
}

// A consumer answering 429 with Retry-After is not retried before it asks;
// the task of an attempt already made does nothing when redelivered.
func TestDeliverHonoursRetryAfterAndIgnoresStaleTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	org := b.org(t, "Acme")
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	e := b.endpoint(t, org, srv.URL, AllEvents)
	ping, err := b.svc.Test(ctx, org, e.ID, nil)
	require.NoError(t, err)

	d := NewDeliverer(b.pool, b.enq, b.log, DelivererConfig{Policy: egress.Policy{AllowPrivate: true, AllowInsecure: true},
		Timeout: 5 * time.Second, DisableAfter: time.Hour, PerEndpoint: 2}, nil)
	at := time.Now()
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: ping.ID, Attempt: 1}))
	got, err := b.svc.GetDelivery(ctx, org, ping.ID)
	require.NoError(t, err)
	require.Equal(t, DeliveryPending, got.Status)
	require.EqualValues(t, 2, got.NextAttempt)
	require.Len(t, got.Attempts, 1)
	require.EqualValues(t, 429, *got.Attempts[0].StatusCode)
	require.Contains(t, *got.Attempts[0].Error, "429")
	require.NotNil(t, got.NextAttemptAt)
	require.GreaterOrEqual(t, got.NextAttemptAt.Sub(at), 120*time.Second, "not before the consumer's Retry-After (the schedule says 5 s)")
	require.Contains(t, b.queued(t), Task{DeliveryID: ping.ID, Attempt: 2}.id())

	// The first attempt's task delivered again: nothing is sent or recorded.
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: ping.ID, Attempt: 1}))
	require.EqualValues(t, 1, hits.Load())
	got, err = b.svc.GetDelivery(ctx, org, ping.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, got.AttemptCount)
}

// An endpoint that fails without a success for DisableAfter is disabled,
// and its pending deliveries end without further requests; the last
// scheduled attempt's failure ends a delivery.
func TestContinuousFailureDisablesEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	org := b.org(t, "Acme")
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	e := b.endpoint(t, org, srv.URL, AllEvents)
	first, err := b.svc.Test(ctx, org, e.ID, nil)
	require.NoError(t, err)
	second, err := b.svc.Test(ctx, org, e.ID, nil)
	require.NoError(t, err)

	now := time.Now()
	m := metrics.New().Webhooks
	d := NewDeliverer(b.pool, b.enq, b.log, DelivererConfig{Policy: egress.Policy{AllowPrivate: true, AllowInsecure: true},
		Timeout: 5 * time.Second, DisableAfter: 5 * 24 * time.Hour, PerEndpoint: 2}, m)
	d.now = func() time.Time { return now }
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: first.ID, Attempt: 1}))
	ep, err := b.svc.Get(ctx, org, e.ID)
	require.NoError(t, err)
	require.Equal(t, StatusActive, ep.Status)
	require.WithinDuration(t, now, *ep.FailingSince, time.Millisecond)

	// Five days of failures later.
	now = now.Add(5 * 24 * time.Hour)
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: first.ID, Attempt: 2}))
	ep, err = b.svc.Get(ctx, org, e.ID)
	require.NoError(t, err)
	require.Equal(t, StatusDisabled, ep.Status)
	require.Contains(t, *ep.DisabledReason, "Every attempt since")

	// A ping still goes to a disabled endpoint: checking it is what a
	// ping is for. (Event deliveries do not: see the next test.)
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: second.ID, Attempt: 1}))
	require.EqualValues(t, 3, hits.Load())
	require.Equal(t, 3.0, testutil.ToFloat64(m.Deliveries.WithLabelValues(OutcomeFailed, "5xx")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Disabled), "disabled once, not again by the ping's failure")

	// The last scheduled attempt's failure ends a delivery for good.
	_, err = b.pool.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt = $2 WHERE id = $1`, first.ID, len(Schedule))
	require.NoError(t, err)
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: first.ID, Attempt: int32(len(Schedule))}))
	got, err := b.svc.GetDelivery(ctx, org, first.ID)
	require.NoError(t, err)
	require.Equal(t, DeliveryFailed, got.Status)
	require.Nil(t, got.NextAttemptAt)
}

// A disabled endpoint's pending event deliveries end without a request.
func TestDisabledEndpointEndsPendingDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	org := b.org(t, "Acme")
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	e := b.endpoint(t, org, srv.URL, AllEvents)
	b.intent(t, org, "order_1")
	_, err := NewDispatcher(b.pool, b.enq, b.log).Once(ctx)
	require.NoError(t, err)
	ds, _, err := b.svc.Deliveries(ctx, org, e.ID, DeliveryFilter{}, pageAll)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = b.svc.Update(ctx, org, e.ID, UpdateInput{Status: &[]string{StatusDisabled}[0]})
	require.NoError(t, err)

	d := NewDeliverer(b.pool, b.enq, b.log, DelivererConfig{Policy: egress.Policy{AllowPrivate: true, AllowInsecure: true},
		Timeout: 5 * time.Second, DisableAfter: time.Hour, PerEndpoint: 2}, nil)
	require.NoError(t, d.Deliver(ctx, Task{DeliveryID: ds[0].ID, Attempt: 1}))
	require.Zero(t, hits.Load())
	got, err := b.svc.GetDelivery(ctx, org, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, DeliveryFailed, got.Status)
	require.Equal(t, "The endpoint is disabled.", *got.LastError)
	require.Empty(t, got.Attempts)
}

// A delivery whose task Redis lost is queued again by the sweeper once
// overdue; one still queued keeps its single task.
func TestSweepQueuesLostDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	org := b.org(t, "Acme")
	e := b.endpoint(t, org, "https://a.example.com/hooks", AllEvents)
	ping, err := b.svc.Test(ctx, org, e.ID, nil)
	require.NoError(t, err)
	d := NewDispatcher(b.pool, b.enq, b.log)

	n, err := d.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "not overdue yet")

	require.NoError(t, b.rdb.FlushDB(ctx).Err())
	_, err = b.pool.Exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 minute' WHERE id = $1`, ping.ID)
	require.NoError(t, err)
	// (The inspector lists queues the client registered, which the flush
	// forgot: read asynq's keys instead.)
	for range 2 {
		n, err = d.Sweep(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		pending, err := b.rdb.LRange(ctx, "asynq:{"+Queue+"}:pending", 0, -1).Result()
		require.NoError(t, err)
		require.Equal(t, []string{Task{DeliveryID: ping.ID, Attempt: 1}.id()}, pending)
	}
}

func TestNextAttempt(t *testing.T) {
	t.Parallel()
	d := &Deliverer{}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	later := at.Add(time.Hour)
	for _, tc := range []struct {
		name        string
		scheduled   bool
		attempt     int32
		status      string
		res         result
		wantStatus  string
		wantNext    int32
		wantAt      *time.Time
		wantBetween [2]time.Duration
	}{
		{name: "success finishes", scheduled: true, attempt: 1, status: DeliveryPending, res: result{outcome: OutcomeSucceeded}, wantStatus: DeliverySucceeded, wantNext: 1},
		{name: "first failure: 5 s ±10%", scheduled: true, attempt: 1, status: DeliveryPending, res: result{outcome: OutcomeFailed},
			wantStatus: DeliveryPending, wantNext: 2, wantBetween: [2]time.Duration{4500 * time.Millisecond, 5500 * time.Millisecond}},
		{name: "ninth failure: 24 h ±10%", scheduled: true, attempt: 9, status: DeliveryPending, res: result{outcome: OutcomeFailed},
			wantStatus: DeliveryPending, wantNext: 10, wantBetween: [2]time.Duration{time.Duration(0.9 * float64(24*time.Hour)), time.Duration(1.1 * float64(24*time.Hour))}},
		{name: "tenth failure ends it", scheduled: true, attempt: 10, status: DeliveryPending, res: result{outcome: OutcomeFailed}, wantStatus: DeliveryFailed, wantNext: 10},
		{name: "Retry-After longer than the schedule", scheduled: true, attempt: 1, status: DeliveryPending, res: result{outcome: OutcomeFailed, retryAfter: time.Minute},
			wantStatus: DeliveryPending, wantNext: 2, wantBetween: [2]time.Duration{time.Minute, time.Minute}},
		{name: "410 ends it", scheduled: true, attempt: 1, status: DeliveryPending, res: result{outcome: OutcomeFailed, gone: true}, wantStatus: DeliveryFailed, wantNext: 1},
		{name: "refused is retried", scheduled: true, attempt: 2, status: DeliveryPending, res: result{outcome: OutcomeRefused},
			wantStatus: DeliveryPending, wantNext: 3, wantBetween: [2]time.Duration{270 * time.Second, 330 * time.Second}},
		{name: "manual failure keeps the schedule", scheduled: false, attempt: 0, status: DeliveryPending, res: result{outcome: OutcomeFailed},
			wantStatus: DeliveryPending, wantNext: 3, wantAt: &later},
		{name: "manual failure of a failed delivery", scheduled: false, status: DeliveryFailed, res: result{outcome: OutcomeFailed}, wantStatus: DeliveryFailed, wantNext: 3},
		{name: "manual failure after success stays succeeded", scheduled: false, status: DeliverySucceeded, res: result{outcome: OutcomeFailed}, wantStatus: DeliverySucceeded, wantNext: 3},
		{name: "manual success of a failed delivery", scheduled: false, status: DeliveryFailed, res: result{outcome: OutcomeSucceeded}, wantStatus: DeliverySucceeded, wantNext: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seenNext := tc.attempt
			if !tc.scheduled {
				seenNext = 3
			}
			status, next, when := d.next(tc.scheduled, tc.attempt, tc.status, seenNext, &later, tc.res, at)
			require.Equal(t, tc.wantStatus, status)
			require.Equal(t, tc.wantNext, next)
			switch {
			case tc.wantAt != nil:
				require.Equal(t, *tc.wantAt, *when)
			case tc.wantBetween != [2]time.Duration{}:
				require.NotNil(t, when)
				require.GreaterOrEqual(t, when.Sub(at), tc.wantBetween[0])
				require.LessOrEqual(t, when.Sub(at), tc.wantBetween[1])
			default:
				require.Nil(t, when)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	require.Equal(t, 30*time.Second, retryAfter("30", now))
	require.Equal(t, 2*time.Minute, retryAfter(now.Add(2*time.Minute).Format(http.TimeFormat), now))
	require.Equal(t, maxRetryAfter, retryAfter("999999", now), "capped")
	require.Zero(t, retryAfter("", now))
	require.Zero(t, retryAfter("soon", now))
	require.Zero(t, retryAfter("-5", now))
	require.Zero(t, retryAfter(now.Add(-time.Hour).Format(http.TimeFormat), now), "a date in the past")
}

// An event about something other than a case (an import batch) goes out
// with the data it was recorded with.
func TestDispatchNonCaseEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	org := b.org(t, "Acme")
	e := b.endpoint(t, org, "https://a.example.com/hooks", "import_batch.completed")
	require.NoError(t, b.q.InsertEventOutbox(ctx, db.InsertEventOutboxParams{
		OrganizationID: org, EventType: "import_batch.completed", Data: []byte(`{"id":"batch-1","status":"completed"}`),
	}))
	res, err := NewDispatcher(b.pool, b.enq, b.log).Once(ctx)
	require.NoError(t, err)
	require.Equal(t, Dispatched{Events: 1, Deliveries: 1}, res)
	ds, _, err := b.svc.Deliveries(ctx, org, e.ID, DeliveryFilter{}, pageAll)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	var body struct {
		Type string            `json:"type"`
		Data map[string]string `json:"data"`
	}
	require.NoError(t, json.Unmarshal(ds[0].Payload, &body))
	require.Equal(t, "import_batch.completed", body.Type)
	require.Equal(t, map[string]string{"id": "batch-1", "status": "completed"}, body.Data)
}
