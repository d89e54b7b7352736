package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/txn"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// Errors the api maps to responses.
var (
	ErrNotFound         = errors.New("webhook endpoint not found")
	ErrDeliveryNotFound = errors.New("webhook delivery not found")
	// ErrEndpointDisabled: a delivery cannot be retried while its endpoint
	// is disabled (enable it first).
	ErrEndpointDisabled = errors.New("webhook endpoint is disabled")
)

// Endpoint statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// SecretOverlap is how long the previous secret keeps signing after a
// rotation, so consumers can switch without dropping a webhook.
const SecretOverlap = 24 * time.Hour

// Service manages an organization's endpoints and reads their deliveries.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	enq  *Enqueuer
	log  *slog.Logger
}

// NewService builds the service; enq queues the sends it triggers (tests,
// retries).
func NewService(pool *pgxpool.Pool, enq *Enqueuer, logger *slog.Logger) *Service {
	return &Service{pool: pool, q: db.New(pool), enq: enq, log: logger}
}

// CreateInput is a validated create request.
type CreateInput struct {
	OrganizationID   uuid.UUID
	URL              string
	Description      *string
	SubscribedEvents []string
	Metadata         []byte // a JSON object; nil for {}
	CreatedByUserID  *string
}

// Validate checks a create request as the api and the console take it:
// the URL under policy, the description and the subscribed events.
// Metadata, a JSON object, is the caller's to bound (validate.Metadata).
func Validate(in CreateInput, policy egress.Policy) validate.Issues {
	var is validate.Issues
	ValidateURL(in.URL, policy, &is)
	validate.Description(in.Description, &is)
	if in.SubscribedEvents == nil {
		is.Add([]string{"subscribedEvents"}, `Required: the event types to send, or ["*"] for all.`)
	} else {
		ValidateEvents(in.SubscribedEvents, &is)
	}
	return is
}

// ValidateURL requires a URL that policy lets webhooks be sent to; the
// message says why one is refused (scheme, private address, …).
func ValidateURL(raw string, policy egress.Policy, is *validate.Issues) {
	if strings.TrimSpace(raw) == "" {
		is.Add([]string{"url"}, "Required: the https URL to send webhooks to.")
		return
	}
	if _, err := egress.CheckURL(raw, policy); err != nil {
		is.Add([]string{"url"}, "%s", validate.Sentence(err.Error()))
	}
}

// ValidateEvents requires at least one event type ("*" for all), each
// known and named once.
func ValidateEvents(events []string, is *validate.Issues) {
	if len(events) == 0 {
		is.Add([]string{"subscribedEvents"}, `Must name at least one event type, or "*" for all.`)
	}
	for i, e := range events {
		switch {
		case !KnownEvent(e):
			is.Add([]string{"subscribedEvents", validate.Index(i)}, "Unknown event type %q; known: *, %s.", e, strings.Join(EventTypes, ", "))
		case slices.Index(events, e) != i:
			is.Add([]string{"subscribedEvents", validate.Index(i)}, "Event type %q is listed twice.", e)
		}
	}
}

// WithSecret is an endpoint with its new signing secret, which is shown once.
type WithSecret struct {
	Endpoint db.WebhookEndpoint
	Secret   string
}

// newSecret is a Standard Webhooks signing secret: whsec_ and 32 random
// bytes in base64.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate signing secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// Create registers an endpoint with a new signing secret.
func (s *Service) Create(ctx context.Context, in CreateInput, finish txn.Finish[WithSecret]) (WithSecret, error) {
	secret, err := newSecret()
	if err != nil {
		return WithSecret{}, err
	}
	metadata := in.Metadata
	if metadata == nil {
		metadata = []byte("{}")
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (WithSecret, error) {
		e, err := s.q.WithTx(tx).CreateWebhookEndpoint(ctx, db.CreateWebhookEndpointParams{
			OrganizationID: in.OrganizationID, Url: in.URL, Description: in.Description,
			SubscribedEvents: in.SubscribedEvents, Secret: secret, Metadata: metadata, CreatedByUserID: in.CreatedByUserID,
		})
		if err != nil {
			return WithSecret{}, fmt.Errorf("create webhook endpoint: %w", err)
		}
		return WithSecret{Endpoint: e, Secret: secret}, nil
	}, finish)
}

// Get reads one endpoint of the organization.
func (s *Service) Get(ctx context.Context, org, id uuid.UUID) (db.WebhookEndpoint, error) {
	e, err := s.q.GetWebhookEndpoint(ctx, db.GetWebhookEndpointParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("read webhook endpoint: %w", err)
	}
	return e, nil
}

// List returns a page of the organization's endpoints (status nil: all),
// newest first, and the total.
func (s *Service) List(ctx context.Context, org uuid.UUID, status *string, p page.Page) ([]db.WebhookEndpoint, int64, error) {
	total, err := s.q.CountWebhookEndpoints(ctx, db.CountWebhookEndpointsParams{OrganizationID: org, Status: status})
	if err != nil {
		return nil, 0, fmt.Errorf("count webhook endpoints: %w", err)
	}
	at, id := p.Bound()
	rows, err := s.q.ListWebhookEndpoints(ctx, db.ListWebhookEndpointsParams{
		OrganizationID: org, Status: status, AfterCreatedAt: at, AfterID: id, Lim: int32(p.Limit), Off: int32(p.Offset),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list webhook endpoints: %w", err)
	}
	return rows, total, nil
}

// UpdateInput changes the given fields only.
type UpdateInput struct {
	URL              *string
	SetDescription   bool // Description applies (nil clears it)
	Description      *string
	SubscribedEvents []string // nil: unchanged
	Metadata         []byte   // nil: unchanged
	Status           *string  // active re-enables (forgetting past failures), disabled pauses
}

// Update changes an endpoint.
func (s *Service) Update(ctx context.Context, org, id uuid.UUID, in UpdateInput) (db.WebhookEndpoint, error) {
	e, err := s.q.UpdateWebhookEndpoint(ctx, db.UpdateWebhookEndpointParams{
		OrganizationID: org, ID: id, Url: in.URL, SetDescription: in.SetDescription, Description: in.Description,
		SubscribedEvents: in.SubscribedEvents, Metadata: in.Metadata, Status: in.Status,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("update webhook endpoint: %w", err)
	}
	return e, nil
}

// Delete removes an endpoint with its deliveries; sends already under way
// find nothing to record and stop.
func (s *Service) Delete(ctx context.Context, org, id uuid.UUID) (db.WebhookEndpoint, error) {
	e, err := s.q.DeleteWebhookEndpoint(ctx, db.DeleteWebhookEndpointParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("delete webhook endpoint: %w", err)
	}
	return e, nil
}

// RotateSecret gives the endpoint a new signing secret; the previous one
// keeps signing alongside it for SecretOverlap (a second rotation within
// that time drops the oldest).
func (s *Service) RotateSecret(ctx context.Context, org, id uuid.UUID, finish txn.Finish[WithSecret]) (WithSecret, error) {
	secret, err := newSecret()
	if err != nil {
		return WithSecret{}, err
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (WithSecret, error) {
		e, err := s.q.WithTx(tx).RotateWebhookSecret(ctx, db.RotateWebhookSecretParams{
			OrganizationID: org, ID: id, Secret: secret, PreviousExpiresAt: time.Now().Add(SecretOverlap),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return WithSecret{}, ErrNotFound
		}
		if err != nil {
			return WithSecret{}, fmt.Errorf("rotate webhook secret: %w", err)
		}
		return WithSecret{Endpoint: e, Secret: secret}, nil
	}, finish)
}

// Delivery is one event's delivery to one endpoint, with the body sent and
// every attempt.
type Delivery struct {
	db.WebhookDelivery
	Payload  []byte
	Attempts []db.WebhookAttempt
}

// Test records a ping for the endpoint (whatever its status or
// subscriptions) and queues it at once.
func (s *Service) Test(ctx context.Context, org, id uuid.UUID, finish txn.Finish[Delivery]) (Delivery, error) {
	d, err := txn.Run(ctx, s.pool, func(tx pgx.Tx) (Delivery, error) {
		q := s.q.WithTx(tx)
		if _, err := q.GetWebhookEndpoint(ctx, db.GetWebhookEndpointParams{OrganizationID: org, ID: id}); errors.Is(err, pgx.ErrNoRows) {
			return Delivery{}, ErrNotFound
		} else if err != nil {
			return Delivery{}, fmt.Errorf("read webhook endpoint: %w", err)
		}
		now := time.Now()
		eventID := uuid.New()
		body := renderPing(id, now)
		if _, err := q.InsertDispatchedEvent(ctx, db.InsertDispatchedEventParams{
			ID: eventID, OrganizationID: org, EventType: EventPing, EndpointID: &id, Payload: body, CreatedAt: now,
		}); err != nil {
			return Delivery{}, fmt.Errorf("record ping: %w", err)
		}
		ids, err := q.InsertWebhookDeliveries(ctx, db.InsertWebhookDeliveriesParams{
			OrganizationIds: []uuid.UUID{org}, EndpointIds: []uuid.UUID{id}, EventIds: []uuid.UUID{eventID}, EventTypes: []string{EventPing},
		})
		if err != nil || len(ids) != 1 {
			return Delivery{}, fmt.Errorf("record ping delivery: %w", err)
		}
		return readDelivery(ctx, q, org, ids[0])
	}, finish)
	if err != nil {
		return d, err
	}
	s.queue(ctx, Task{DeliveryID: d.ID, Attempt: 1}, time.Now())
	return d, nil
}

// Retry queues one more attempt of a delivery now, whatever its status; it
// does not change the delivery's retry schedule.
func (s *Service) Retry(ctx context.Context, org, id uuid.UUID, finish txn.Finish[Delivery]) (Delivery, error) {
	d, err := txn.Run(ctx, s.pool, func(tx pgx.Tx) (Delivery, error) {
		q := s.q.WithTx(tx)
		d, err := readDelivery(ctx, q, org, id)
		if err != nil {
			return d, err
		}
		e, err := q.GetWebhookEndpoint(ctx, db.GetWebhookEndpointParams{OrganizationID: org, ID: d.EndpointID})
		if err != nil {
			return d, fmt.Errorf("read webhook endpoint: %w", err)
		}
		if e.Status != StatusActive && d.EventType != EventPing {
			return d, ErrEndpointDisabled
		}
		return d, nil
	}, finish)
	if err != nil {
		return d, err
	}
	s.queue(ctx, Task{DeliveryID: d.ID, Manual: true, Nonce: uuid.NewString()}, time.Now())
	return d, nil
}

// queue enqueues a send the caller's transaction committed. A scheduled
// send whose enqueue fails is found overdue and queued by the sweeper; a
// manual retry is simply not made (the caller is told it was accepted,
// and the delivery's attempts show it never ran).
func (s *Service) queue(ctx context.Context, t Task, at time.Time) {
	if err := s.enq.Enqueue(ctx, t, at); err != nil {
		s.log.WarnContext(ctx, "queue webhook send; left to the sweeper", "delivery_id", t.DeliveryID.String(), "err", err.Error())
	}
}

// GetDelivery reads one delivery of the organization with its attempts.
func (s *Service) GetDelivery(ctx context.Context, org, id uuid.UUID) (Delivery, error) {
	return readDelivery(ctx, s.q, org, id)
}

func readDelivery(ctx context.Context, q *db.Queries, org, id uuid.UUID) (Delivery, error) {
	row, err := q.GetWebhookDelivery(ctx, db.GetWebhookDeliveryParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, ErrDeliveryNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("read webhook delivery: %w", err)
	}
	attempts, err := q.ListWebhookAttemptsForDeliveries(ctx, []uuid.UUID{id})
	if err != nil {
		return Delivery{}, fmt.Errorf("read webhook attempts: %w", err)
	}
	return Delivery{WebhookDelivery: row.WebhookDelivery, Payload: row.Payload, Attempts: attempts}, nil
}

// DeliveryFilter narrows an endpoint's deliveries.
type DeliveryFilter struct {
	Status    *string
	EventType *string
}

// Deliveries returns a page of an endpoint's deliveries, newest first, with
// their attempts, and the total.
func (s *Service) Deliveries(ctx context.Context, org, endpointID uuid.UUID, f DeliveryFilter, p page.Page) ([]Delivery, int64, error) {
	if _, err := s.Get(ctx, org, endpointID); err != nil {
		return nil, 0, err
	}
	total, err := s.q.CountWebhookDeliveries(ctx, db.CountWebhookDeliveriesParams{
		OrganizationID: org, EndpointID: endpointID, Status: f.Status, EventType: f.EventType,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("count webhook deliveries: %w", err)
	}
	at, id := p.Bound()
	rows, err := s.q.ListWebhookDeliveries(ctx, db.ListWebhookDeliveriesParams{
		OrganizationID: org, EndpointID: endpointID, Status: f.Status, EventType: f.EventType,
		AfterCreatedAt: at, AfterID: id, Lim: int32(p.Limit), Off: int32(p.Offset),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list webhook deliveries: %w", err)
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.WebhookDelivery.ID
	}
	attempts, err := s.q.ListWebhookAttemptsForDeliveries(ctx, ids)
	if err != nil {
		return nil, 0, fmt.Errorf("read webhook attempts: %w", err)
	}
	byDelivery := map[uuid.UUID][]db.WebhookAttempt{}
	for _, a := range attempts {
		byDelivery[a.DeliveryID] = append(byDelivery[a.DeliveryID], a)
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = Delivery{WebhookDelivery: r.WebhookDelivery, Payload: r.Payload, Attempts: byDelivery[r.WebhookDelivery.ID]}
	}
	return out, total, nil
}
