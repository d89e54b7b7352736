package client

import (
	"context"
	"net/http"
	"time"
)

// APIKey is an API key; PlaintextKey only in the answer that created it.
// Managing keys needs a dashboard session (WithCredential with a session
// token): an API key gets 403.
type APIKey struct {
	ID              string         `json:"id"`
	OrganizationID  string         `json:"organizationId"`
	Name            string         `json:"name"`
	Prefix          string         `json:"prefix"`
	Scopes          []string       `json:"scopes"`
	Status          string         `json:"status"` // active, expired or revoked
	PlaintextKey    string         `json:"plaintextKey,omitempty"`
	CreatedByUserID *string        `json:"createdByUserId"`
	LastUsedAt      *time.Time     `json:"lastUsedAt"`
	ExpiresAt       *time.Time     `json:"expiresAt"`
	RevokedAt       *time.Time     `json:"revokedAt"`
	Metadata        map[string]any `json:"metadata"`
	CreatedAt       time.Time      `json:"createdAt"`
	UpdatedAt       time.Time      `json:"updatedAt"`
}

// CreateAPIKeyParams creates a key; no Scopes means every scope.
type CreateAPIKeyParams struct {
	Name      string         `json:"name"`
	Scopes    []string       `json:"scopes,omitempty"`
	ExpiresAt *time.Time     `json:"expiresAt,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

var (
	routeCreateAPIKey = newRoute[none, CreateAPIKeyParams, APIKey](http.MethodPost, "/v1/api-keys")
	routeListAPIKeys  = newRoute[ListParams, none, Page[APIKey]](http.MethodGet, "/v1/api-keys")
	routeRevokeAPIKey = newRoute[none, none, APIKey](http.MethodDelete, "/v1/api-keys/{id}")
)

// CreateAPIKey creates a key (session only); keep its PlaintextKey, which
// is never shown again.
func (c *Client) CreateAPIKey(ctx context.Context, p CreateAPIKeyParams, opts ...RequestOption) (*APIKey, error) {
	out, _, err := routeCreateAPIKey.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// ListAPIKeys lists keys, newest first (session only).
func (c *Client) ListAPIKeys(ctx context.Context, p ListParams, opts ...RequestOption) (*Page[APIKey], error) {
	out, _, err := routeListAPIKeys.call(ctx, c, nil, p, none{}, opts)
	return out, err
}

// RevokeAPIKey revokes a key (session only); revoking it again is harmless.
func (c *Client) RevokeAPIKey(ctx context.Context, id string, opts ...RequestOption) (*APIKey, error) {
	out, _, err := routeRevokeAPIKey.call(ctx, c, []string{id}, none{}, none{}, opts)
	return out, err
}
