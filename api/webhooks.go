package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/txn"
	"github.com/reconlayer/reconlayer/internal/validate"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// Webhook endpoints are managed with a dashboard session, like API keys
// (DESIGN §2): an API key could otherwise point the organization's events
// anywhere.

// webhookEndpointJSON is the endpoint resource; secret only in the create
// and rotate-secret responses.
type webhookEndpointJSON struct {
	ID                      string          `json:"id"`
	OrganizationID          string          `json:"organizationId"`
	URL                     string          `json:"url"`
	Description             *string         `json:"description"`
	SubscribedEvents        []string        `json:"subscribedEvents"`
	Status                  string          `json:"status"`
	DisabledReason          *string         `json:"disabledReason"`
	DisabledAt              *time.Time      `json:"disabledAt"`
	FailingSince            *time.Time      `json:"failingSince"`
	Secret                  string          `json:"secret,omitempty"`
	PreviousSecretExpiresAt *time.Time      `json:"previousSecretExpiresAt"`
	Metadata                json.RawMessage `json:"metadata"`
	CreatedByUserID         *string         `json:"createdByUserId"`
	CreatedAt               time.Time       `json:"createdAt"`
	UpdatedAt               time.Time       `json:"updatedAt"`
}

func renderWebhookEndpoint(e db.WebhookEndpoint) webhookEndpointJSON {
	out := webhookEndpointJSON{
		ID: e.ID.String(), OrganizationID: e.OrganizationID.String(), URL: e.Url, Description: e.Description,
		SubscribedEvents: e.SubscribedEvents, Status: e.Status, DisabledReason: e.DisabledReason,
		DisabledAt: resource.UTCPtr(e.DisabledAt), FailingSince: resource.UTCPtr(e.FailingSince),
		Metadata: e.Metadata, CreatedByUserID: e.CreatedByUserID, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
	// The previous secret signs only until it expires.
	if e.PreviousSecretExpiresAt != nil && e.PreviousSecretExpiresAt.After(time.Now()) {
		out.PreviousSecretExpiresAt = resource.UTCPtr(e.PreviousSecretExpiresAt)
	}
	return out
}

func renderWithSecret(w webhook.WithSecret) any {
	out := renderWebhookEndpoint(w.Endpoint)
	out.Secret = w.Secret
	return out
}

// A replay of a create or rotation must not show the secret again: it is
// not kept with the stored response.
func renderWithoutSecret(w webhook.WithSecret) any { return renderWebhookEndpoint(w.Endpoint) }

type webhookAttemptJSON struct {
	ID           string    `json:"id"`
	Number       int32     `json:"number"`
	Trigger      string    `json:"trigger"`
	Outcome      string    `json:"outcome"`
	URL          string    `json:"url"`
	StatusCode   *int32    `json:"statusCode"`
	LatencyMs    int32     `json:"latencyMs"`
	ResponseBody *string   `json:"responseBody"`
	Error        *string   `json:"error"`
	AttemptedAt  time.Time `json:"attemptedAt"`
}

func renderWebhookAttempt(a db.WebhookAttempt) webhookAttemptJSON {
	return webhookAttemptJSON{
		ID: a.ID.String(), Number: a.Number, Trigger: a.Trigger, Outcome: a.Outcome, URL: a.Url, StatusCode: a.StatusCode,
		LatencyMs: a.LatencyMs, ResponseBody: a.ResponseBody, Error: a.Error, AttemptedAt: a.AttemptedAt.UTC(),
	}
}

// webhookDeliveryJSON is one event's delivery to one endpoint: eventId is
// the webhook-id header of every attempt; payload is the exact body sent.
type webhookDeliveryJSON struct {
	ID             string               `json:"id"`
	OrganizationID string               `json:"organizationId"`
	EndpointID     string               `json:"endpointId"`
	EventID        string               `json:"eventId"`
	EventType      string               `json:"eventType"`
	Status         string               `json:"status"`
	AttemptCount   int32                `json:"attemptCount"`
	NextAttemptAt  *time.Time           `json:"nextAttemptAt"`
	LastAttemptAt  *time.Time           `json:"lastAttemptAt"`
	LastStatusCode *int32               `json:"lastStatusCode"`
	LastError      *string              `json:"lastError"`
	SucceededAt    *time.Time           `json:"succeededAt"`
	Payload        json.RawMessage      `json:"payload"`
	Attempts       []webhookAttemptJSON `json:"attempts"`
	CreatedAt      time.Time            `json:"createdAt"`
	UpdatedAt      time.Time            `json:"updatedAt"`
}

func renderWebhookDelivery(d webhook.Delivery) webhookDeliveryJSON {
	payload := json.RawMessage(d.Payload)
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return webhookDeliveryJSON{
		ID: d.ID.String(), OrganizationID: d.OrganizationID.String(), EndpointID: d.EndpointID.String(),
		EventID: d.EventID.String(), EventType: d.EventType, Status: d.Status, AttemptCount: d.AttemptCount,
		NextAttemptAt: resource.UTCPtr(d.NextAttemptAt), LastAttemptAt: resource.UTCPtr(d.LastAttemptAt),
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, SucceededAt: resource.UTCPtr(d.SucceededAt),
		Payload: payload, Attempts: resource.MapSlice(d.Attempts, renderWebhookAttempt),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

type createWebhookEndpointRequest struct {
	URL              string         `json:"url"`
	Description      *string        `json:"description"`
	SubscribedEvents []string       `json:"subscribedEvents"`
	Metadata         map[string]any `json:"metadata"`

	policy egress.Policy
}

func (r *createWebhookEndpointRequest) validate(is *issues) {
	*is = append(*is, webhook.Validate(webhook.CreateInput{URL: r.URL, Description: r.Description, SubscribedEvents: r.SubscribedEvents}, r.policy)...)
	validate.Metadata(r.Metadata, is)
}

type updateWebhookEndpointRequest struct {
	URL              *string          `json:"url"`
	Description      nullable[string] `json:"description"`
	SubscribedEvents []string         `json:"subscribedEvents"`
	Status           *string          `json:"status"`
	Metadata         map[string]any   `json:"metadata"`

	policy egress.Policy
}

func (r *updateWebhookEndpointRequest) validate(is *issues) {
	if r.URL != nil {
		webhook.ValidateURL(*r.URL, r.policy, is)
	}
	validate.Description(r.Description.Value, is)
	if r.SubscribedEvents != nil {
		webhook.ValidateEvents(r.SubscribedEvents, is)
	}
	if r.Status != nil && *r.Status != webhook.StatusActive && *r.Status != webhook.StatusDisabled {
		is.Add([]string{"status"}, "Must be active or disabled.")
	}
	validate.Metadata(r.Metadata, is)
}

func (s *server) createWebhookEndpoint(c *gin.Context) {
	req := createWebhookEndpointRequest{policy: s.opts.Webhooks}
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	in := webhook.CreateInput{OrganizationID: p.OrganizationID, URL: req.URL, Description: req.Description, SubscribedEvents: req.SubscribedEvents}
	if req.Metadata != nil {
		in.Metadata, _ = json.Marshal(req.Metadata)
	}
	if p.UserID != "" {
		in.CreatedByUserID = &p.UserID
	}
	_, err := s.webhooks.Create(c.Request.Context(), in, completeWith(c, status[webhook.WithSecret](http.StatusCreated),
		plain(renderWithSecret), renderWithoutSecret))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listWebhookEndpoints(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "status")
	st := q.enum("status", []string{webhook.StatusActive, webhook.StatusDisabled})
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, total, err := s.webhooks.List(c.Request.Context(), mustPrincipal(c).OrganizationID, st, pg)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, renderWebhookEndpoint, func(e db.WebhookEndpoint) (time.Time, uuid.UUID) { return e.CreatedAt, e.ID })
}

func (s *server) updateWebhookEndpoint(c *gin.Context) {
	id, ok := pathID(c, "Webhook endpoint")
	if !ok {
		return
	}
	req := updateWebhookEndpointRequest{policy: s.opts.Webhooks}
	if !s.bindJSON(c, &req) {
		return
	}
	in := webhook.UpdateInput{URL: req.URL, SetDescription: req.Description.Set, Description: req.Description.Value,
		SubscribedEvents: req.SubscribedEvents, Status: req.Status}
	if req.Metadata != nil {
		in.Metadata, _ = json.Marshal(req.Metadata)
	}
	e, err := s.webhooks.Update(c.Request.Context(), mustPrincipal(c).OrganizationID, id, in)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, renderWebhookEndpoint(e))
}

// idAction is a POST on a resource's :id with an optional empty body,
// which the service runs in its transaction (so the answer is recorded
// against the Idempotency-Key with it); stored, when not nil, renders what
// replays get instead.
func idAction[T any](s *server, what string, code int, do func(context.Context, uuid.UUID, uuid.UUID, txn.Finish[T]) (T, error),
	render, stored func(T) any) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, what)
		if !ok {
			return
		}
		var req struct{}
		if !s.bindOptionalJSON(c, &req) {
			return
		}
		if _, err := do(c.Request.Context(), mustPrincipal(c).OrganizationID, id, completeWith(c, status[T](code), plain(render), stored)); err != nil {
			abort(c, serviceError(err))
			return
		}
		respondCompleted(c)
	}
}

func renderDeliveryAny(d webhook.Delivery) any { return renderWebhookDelivery(d) }

var deliveryStatuses = []string{webhook.DeliveryPending, webhook.DeliverySucceeded, webhook.DeliveryFailed}

func (s *server) listWebhookDeliveries(c *gin.Context) {
	id, ok := pathID(c, "Webhook endpoint")
	if !ok {
		return
	}
	var is issues
	q := listQuery(c, &is, "status", "eventType")
	f := webhook.DeliveryFilter{
		Status:    q.enum("status", deliveryStatuses),
		EventType: q.enum("eventType", append([]string{webhook.EventPing}, webhook.EventTypes...)),
	}
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, total, err := s.webhooks.Deliveries(c.Request.Context(), mustPrincipal(c).OrganizationID, id, f, pg)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondList(c, pg, rows, total, renderWebhookDelivery, func(d webhook.Delivery) (time.Time, uuid.UUID) { return d.CreatedAt, d.ID })
}
