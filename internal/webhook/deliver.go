package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/metrics"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Attempt outcomes: refused means ReconLayer would not connect (the URL
// resolved to a private address, say), failed that the consumer did not
// answer 2xx in time.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeRefused   = "refused"
)

// Schedule is how long after each failed attempt the next one is made
// (DESIGN §4): attempt 1 at once, attempt 2 five seconds after the first
// fails, … attempt 10 a day after the ninth. Each wait varies by ±10% so that
// the retries of many deliveries failing together do not arrive together.
var Schedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// maxRetryAfter caps a consumer's Retry-After.
const maxRetryAfter = 24 * time.Hour

// Response bodies are kept up to keptBody bytes, and read (so the
// connection can be reused) up to drainBody.
const (
	keptBody  = 2048
	drainBody = 64 << 10
)

// ErrBusy: the endpoint already has its share of sends under way in this
// process; the task comes back shortly (not a failure).
var ErrBusy = errors.New("webhook endpoint busy")

// DelivererConfig tunes sending.
type DelivererConfig struct {
	Policy  egress.Policy
	Timeout time.Duration // one attempt, connection to last byte
	// DisableAfter: an endpoint failing without a single success for this
	// long is disabled.
	DisableAfter time.Duration
	// PerEndpoint bounds the sends to one endpoint under way at once in
	// this process.
	PerEndpoint int
}

// Deliverer makes attempts and records them.
type Deliverer struct {
	q       *db.Queries
	client  *http.Client
	enq     *Enqueuer
	log     *slog.Logger
	cfg     DelivererConfig
	now     func() time.Time
	slots   *slots
	metrics *metrics.Webhooks
}

// NewDeliverer builds a deliverer; m may be nil (nothing recorded).
func NewDeliverer(pool *pgxpool.Pool, enq *Enqueuer, logger *slog.Logger, cfg DelivererConfig, m *metrics.Webhooks) *Deliverer {
	return &Deliverer{
		q: db.New(pool), client: egress.NewClient(cfg.Policy, cfg.Timeout), enq: enq, log: logger, cfg: cfg,
		now: time.Now, slots: &slots{max: cfg.PerEndpoint, used: map[uuid.UUID]int{}}, metrics: m,
	}
}

// result is what one HTTP attempt came to.
type result struct {
	outcome    string
	statusCode *int32
	body       *string
	err        *string
	latency    time.Duration
	retryAfter time.Duration
	gone       bool // 410: the consumer wants no more
}

// Deliver makes the attempt t asks for, records it, and schedules the next
// one. A task that is stale (its attempt made, its delivery finished or
// deleted) does nothing, so redelivered tasks are harmless. Errors mean the
// attempt could not be made or recorded, and the task is retried.
func (d *Deliverer) Deliver(ctx context.Context, t Task) error {
	row, err := d.q.GetDeliveryForSend(ctx, t.DeliveryID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read delivery %s: %w", t.DeliveryID, err)
	}
	if !t.Manual && (row.Status != DeliveryPending || row.NextAttempt != t.Attempt) {
		return nil
	}
	if row.EndpointStatus != StatusActive && row.EventType != EventPing {
		if err := d.q.FailWebhookDelivery(ctx, db.FailWebhookDeliveryParams{ID: row.ID, Error: "The endpoint is disabled."}); err != nil {
			return fmt.Errorf("end delivery %s: %w", row.ID, err)
		}
		return nil
	}
	if !d.slots.acquire(row.EndpointID) {
		return ErrBusy
	}
	at := d.now()
	res := d.send(ctx, row, at)
	d.slots.release(row.EndpointID)
	if err := d.record(ctx, t, row, at, res); err != nil {
		return err
	}
	if d.metrics != nil {
		code := 0
		if res.statusCode != nil {
			code = int(*res.statusCode)
		}
		d.metrics.Deliveries.WithLabelValues(res.outcome, metrics.StatusClass(code)).Inc()
		d.metrics.Duration.WithLabelValues(res.outcome).Observe(res.latency.Seconds())
	}
	return nil
}

// send makes one signed POST.
func (d *Deliverer) send(ctx context.Context, row db.GetDeliveryForSendRow, at time.Time) result {
	req, err := d.request(ctx, row, at)
	if err != nil {
		return result{outcome: OutcomeFailed, err: &[]string{err.Error()}[0]}
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	res := result{latency: time.Since(start)}
	if err != nil {
		res.outcome = OutcomeFailed
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			res.outcome = OutcomeRefused
		}
		msg := sendError(err)
		res.err = &msg
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, keptBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBody))
	res.latency = time.Since(start)
	code := int32(resp.StatusCode)
	res.statusCode = &code
	if len(body) > 0 {
		s := strings.ToValidUTF8(string(body), string(utf8.RuneError))
		res.body = &s
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.outcome = OutcomeSucceeded
		return res
	case resp.StatusCode == http.StatusGone:
		res.gone = true
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		res.retryAfter = retryAfter(resp.Header.Get("Retry-After"), at)
	}
	res.outcome = OutcomeFailed
	msg := fmt.Sprintf("The endpoint answered %d %s.", resp.StatusCode, http.StatusText(resp.StatusCode))
	res.err = &msg
	return res
}

// request builds the signed request (Standard Webhooks): webhook-id is the
// event id, the same on every attempt and for every endpoint; during a
// secret rotation both secrets sign.
func (d *Deliverer) request(ctx context.Context, row db.GetDeliveryForSendRow, at time.Time) (*http.Request, error) {
	if row.Payload == nil {
		return nil, errors.New("the event has no rendered body")
	}
	secrets := []string{row.Secret}
	if row.PreviousSecret != nil && row.PreviousSecretExpiresAt != nil && at.Before(*row.PreviousSecretExpiresAt) {
		secrets = append(secrets, *row.PreviousSecret)
	}
	msgID := row.EventID.String()
	sigs := make([]string, len(secrets))
	for i, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, fmt.Errorf("signing secret: %w", err)
		}
		if sigs[i], err = wh.Sign(msgID, at, row.Payload); err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, row.Url, bytes.NewReader(row.Payload))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ReconLayer-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, msgID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return req, nil
}

// sendError says why a request got no response, without Go's wrapping.
func sendError(err error) string {
	var refused *egress.RefusedError
	switch {
	case errors.As(err, &refused):
		return "Refused: " + refused.Error() + "."
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return "No response within the timeout."
	}
	return "Request failed: " + err.Error()
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// next decides the delivery's state after an attempt: a success finishes
// it; a 410 or the last scheduled failure fails it; a scheduled failure
// schedules the next attempt (not before the consumer's Retry-After). A
// manual attempt, or a scheduled one overtaken by another, only records
// itself unless it succeeds.
func (d *Deliverer) next(scheduled bool, attempt int32, status string, nextAttempt int32, nextAt *time.Time,
	res result, at time.Time) (string, int32, *time.Time) {
	switch {
	case res.outcome == OutcomeSucceeded:
		return DeliverySucceeded, nextAttempt, nil
	case status != DeliveryPending:
		return status, nextAttempt, nil
	case res.gone:
		return DeliveryFailed, nextAttempt, nil
	case !scheduled:
		return status, nextAttempt, nextAt
	case int(attempt) >= len(Schedule):
		return DeliveryFailed, nextAttempt, nil
	}
	wait := jitter(Schedule[attempt])
	wait = max(wait, res.retryAfter)
	when := at.Add(res.latency).Add(wait)
	return DeliveryPending, attempt + 1, &when
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// record stores the attempt with the delivery's new state, then keeps the
// endpoint's health and queues the next attempt.
func (d *Deliverer) record(ctx context.Context, t Task, row db.GetDeliveryForSendRow, at time.Time, res result) error {
	trigger := "scheduled"
	if t.Manual {
		trigger = "manual"
	}
	status, nextAttempt, nextAt := row.Status, row.NextAttempt, row.NextAttemptAt
	scheduled := !t.Manual
	for {
		newStatus, newNext, newAt := d.next(scheduled, t.Attempt, status, nextAttempt, nextAt, res, at)
		_, err := d.q.RecordWebhookAttempt(ctx, db.RecordWebhookAttemptParams{
			Trigger: trigger, Outcome: res.outcome, Url: row.Url, StatusCode: res.statusCode,
			LatencyMs: int32(res.latency.Milliseconds()), ResponseBody: res.body, Error: res.err, AttemptedAt: at,
			Status: newStatus, NextAttempt: newNext, NextAttemptAt: newAt,
			ID: row.ID, SeenStatus: status, SeenNextAttempt: nextAttempt,
		})
		if err == nil {
			if scheduled && newStatus == DeliveryPending && newAt != nil {
				if err := d.enq.Enqueue(ctx, Task{DeliveryID: row.ID, Attempt: newNext}, *newAt); err != nil {
					d.log.WarnContext(ctx, "queue webhook retry; left to the sweeper", "delivery_id", row.ID.String(), "err", err.Error())
				}
			}
			return d.health(ctx, row, at, res)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("record attempt of delivery %s: %w", row.ID, err)
		}
		// The delivery changed since it was read (another attempt was
		// recorded): decide again from its state now.
		cur, err := d.q.GetDeliveryForSend(ctx, row.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read delivery %s: %w", row.ID, err)
		}
		if scheduled && (cur.Status != DeliveryPending || cur.NextAttempt != t.Attempt) {
			scheduled = false
		}
		status, nextAttempt, nextAt = cur.Status, cur.NextAttempt, cur.NextAttemptAt
	}
}

// health tracks how long an endpoint has been failing and disables it when
// it answers 410 or has failed without a success for DisableAfter.
func (d *Deliverer) health(ctx context.Context, row db.GetDeliveryForSendRow, at time.Time, res result) error {
	if res.outcome == OutcomeSucceeded {
		if row.FailingSince == nil {
			return nil
		}
		if err := d.q.WebhookEndpointSucceeded(ctx, row.EndpointID); err != nil {
			return fmt.Errorf("mark endpoint %s healthy: %w", row.EndpointID, err)
		}
		return nil
	}
	since, err := d.q.WebhookEndpointFailed(ctx, db.WebhookEndpointFailedParams{ID: row.EndpointID, At: at})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark endpoint %s failing: %w", row.EndpointID, err)
	}
	reason := ""
	switch {
	case res.gone:
		reason = fmt.Sprintf("The endpoint answered 410 Gone at %s.", at.UTC().Format(time.RFC3339))
	case since != nil && at.Sub(*since) >= d.cfg.DisableAfter:
		reason = fmt.Sprintf("Every attempt since %s failed (disabled after %s without a success).",
			since.UTC().Format(time.RFC3339), d.cfg.DisableAfter)
	default:
		return nil
	}
	n, err := d.q.DisableWebhookEndpoint(ctx, db.DisableWebhookEndpointParams{ID: row.EndpointID, Reason: reason})
	if err != nil {
		return fmt.Errorf("disable endpoint %s: %w", row.EndpointID, err)
	}
	if n == 0 {
		return nil // disabled already, by another attempt or by hand
	}
	if d.metrics != nil {
		d.metrics.Disabled.Inc()
	}
	d.log.WarnContext(ctx, "webhook endpoint disabled", "endpoint_id", row.EndpointID.String(), "reason", reason)
	return nil
}

// slots bounds the sends under way per endpoint in this process.
type slots struct {
	mu   sync.Mutex
	max  int
	used map[uuid.UUID]int
}

func (s *slots) acquire(id uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.used[id] >= s.max {
		return false
	}
	s.used[id]++
	return true
}

func (s *slots) release(id uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[id]--; s.used[id] <= 0 {
		delete(s.used, id)
	}
}
