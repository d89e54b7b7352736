package client

import (
	"context"
	"net/http"
	"time"
)

// WebhookEndpoint is where an organization's webhooks go. Secret appears
// only in the answer that created it. Managing endpoints needs a dashboard
// session.
type WebhookEndpoint struct {
	ID                      string         `json:"id"`
	OrganizationID          string         `json:"organizationId"`
	URL                     string         `json:"url"`
	Description             *string        `json:"description"`
	SubscribedEvents        []string       `json:"subscribedEvents"`
	Status                  string         `json:"status"` // active or disabled
	DisabledReason          *string        `json:"disabledReason"`
	DisabledAt              *time.Time     `json:"disabledAt"`
	FailingSince            *time.Time     `json:"failingSince"`
	Secret                  string         `json:"secret,omitempty"`
	PreviousSecretExpiresAt *time.Time     `json:"previousSecretExpiresAt"`
	Metadata                map[string]any `json:"metadata"`
	CreatedByUserID         *string        `json:"createdByUserId"`
	CreatedAt               time.Time      `json:"createdAt"`
	UpdatedAt               time.Time      `json:"updatedAt"`
}

// CreateWebhookEndpointParams registers url for the event types in
// SubscribedEvents ("*" for all).
type CreateWebhookEndpointParams struct {
	URL              string         `json:"url"`
	Description      string         `json:"description,omitempty"`
	SubscribedEvents []string       `json:"subscribedEvents"`
	Metadata         map[string]any `json:"metadata,omitempty"`
}

// ListWebhookEndpointsParams pages endpoints; Status active or disabled
// keeps only those.
type ListWebhookEndpointsParams struct {
	ListParams
	Status string `query:"status"`
}

var (
	routeCreateWebhookEndpoint = newRoute[none, CreateWebhookEndpointParams, WebhookEndpoint](http.MethodPost, "/v1/webhook-endpoints")
	routeListWebhookEndpoints  = newRoute[ListWebhookEndpointsParams, none, Page[WebhookEndpoint]](http.MethodGet, "/v1/webhook-endpoints")
)

// CreateWebhookEndpoint registers an endpoint (session only); keep its
// Secret, which verifies the signatures and is never shown again.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, p CreateWebhookEndpointParams, opts ...RequestOption) (*WebhookEndpoint, error) {
	out, _, err := routeCreateWebhookEndpoint.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// ListWebhookEndpoints lists endpoints, newest first (session only).
func (c *Client) ListWebhookEndpoints(ctx context.Context, p ListWebhookEndpointsParams, opts ...RequestOption) (*Page[WebhookEndpoint], error) {
	out, _, err := routeListWebhookEndpoints.call(ctx, c, nil, p, none{}, opts)
	return out, err
}
