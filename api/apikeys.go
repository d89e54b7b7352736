package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// apiKeyJSON is the API key resource (DESIGN §2).
type apiKeyJSON struct {
	ID              string          `json:"id"`
	OrganizationID  string          `json:"organizationId"`
	Name            string          `json:"name"`
	Prefix          string          `json:"prefix"`
	Scopes          []string        `json:"scopes"`
	Status          string          `json:"status"`
	PlaintextKey    string          `json:"plaintextKey,omitempty"`
	CreatedByUserID *string         `json:"createdByUserId"`
	LastUsedAt      *time.Time      `json:"lastUsedAt"`
	ExpiresAt       *time.Time      `json:"expiresAt"`
	RevokedAt       *time.Time      `json:"revokedAt"`
	Metadata        json.RawMessage `json:"metadata"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
}

func renderAPIKey(k db.APIKey) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID.String(), OrganizationID: k.OrganizationID.String(), Name: k.Name, Prefix: k.Prefix,
		Scopes: k.Scopes, Status: auth.KeyStatus(k, time.Now()), CreatedByUserID: k.CreatedByUserID,
		LastUsedAt: resource.UTCPtr(k.LastUsedAt), ExpiresAt: resource.UTCPtr(k.ExpiresAt), RevokedAt: resource.UTCPtr(k.RevokedAt),
		Metadata: k.Metadata, CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC(),
	}
}

type createAPIKeyRequest struct {
	Name      string         `json:"name"`
	Scopes    []string       `json:"scopes"`
	ExpiresAt *time.Time     `json:"expiresAt"`
	Metadata  map[string]any `json:"metadata"`
}

func (r *createAPIKeyRequest) validate(is *issues) {
	*is = append(*is, apikey.Validate(apikey.CreateInput{Name: r.Name, Scopes: r.Scopes, ExpiresAt: r.ExpiresAt}, time.Now())...)
	validate.Metadata(r.Metadata, is)
}

type updateAPIKeyRequest struct {
	Name      *string             `json:"name"`
	Scopes    []string            `json:"scopes"`
	ExpiresAt nullable[time.Time] `json:"expiresAt"`
	Metadata  map[string]any      `json:"metadata"`
}

func (r *updateAPIKeyRequest) validate(is *issues) {
	if r.Name != nil {
		validate.Name(*r.Name, []string{"name"}, true, is)
	}
	if r.Scopes != nil {
		apikey.ValidateScopes(r.Scopes, is)
	}
	if r.ExpiresAt.Value != nil && !r.ExpiresAt.Value.After(time.Now()) {
		is.Add([]string{"expiresAt"}, "Must be in the future (or null to never expire).")
	}
	validate.Metadata(r.Metadata, is)
}

// RenderCreatedAPIKey is the create response, with the plaintext shown once
// (shared with `reconlayer admin create-api-key`).
func RenderCreatedAPIKey(k apikey.Created) any {
	out := renderAPIKey(k.Key)
	out.PlaintextKey = k.Plaintext
	return out
}

func (s *server) createAPIKey(c *gin.Context) {
	var req createAPIKeyRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	in := apikey.CreateInput{OrganizationID: p.OrganizationID, Name: strings.TrimSpace(req.Name), Scopes: req.Scopes, ExpiresAt: req.ExpiresAt}
	if req.Metadata != nil {
		in.Metadata, _ = json.Marshal(req.Metadata)
	}
	if p.UserID != "" {
		in.CreatedByUserID = &p.UserID
	}
	_, err := s.apiKeys.Create(c.Request.Context(), in, completeWith(c, status[apikey.Created](http.StatusCreated),
		plain(RenderCreatedAPIKey),
		// A replay must not reveal the key again: the plaintext is never stored.
		func(k apikey.Created) any { return renderAPIKey(k.Key) },
	))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listAPIKeys(c *gin.Context) {
	var is issues
	listQuery(c, &is)
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	keys, total, err := s.apiKeys.List(c.Request.Context(), mustPrincipal(c).OrganizationID, pg)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, keys, total, renderAPIKey, func(k db.APIKey) (time.Time, uuid.UUID) { return k.CreatedAt, k.ID })
}

// byID answers a resource read or changed by its :id within the caller's
// organization: do reads (or revokes, deletes) it, render shapes the answer.
func byID[R, J any](what string, do func(ctx context.Context, org, id uuid.UUID) (R, error), render func(R) J) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := pathID(c, what)
		if !ok {
			return
		}
		r, err := do(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
		if err != nil {
			abort(c, serviceError(err))
			return
		}
		c.JSON(http.StatusOK, render(r))
	}
}

// pathID parses the :id parameter; a malformed id is as missing as an unknown one.
func pathID(c *gin.Context, what string) (uuid.UUID, bool) { return paramID(c, "id", what) }

// paramID reads the path parameter name as an id; one that is not a UUID
// names nothing, so it is 404 like an unknown one.
func paramID(c *gin.Context, name, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		abort(c, NewError(http.StatusNotFound, CodeNotFound, "%s not found.", what))
		return uuid.Nil, false
	}
	return id, true
}

// revokeAPIKey revokes a key and drops it from this process's credential
// cache (other api processes stop accepting it within auth.KeyCacheTTL).
func (s *server) revokeAPIKey(ctx context.Context, org, id uuid.UUID) (db.APIKey, error) {
	k, err := s.apiKeys.Revoke(ctx, org, id)
	if err == nil {
		s.auth.ForgetKey(id)
	}
	return k, err
}

func (s *server) updateAPIKey(c *gin.Context) {
	id, ok := pathID(c, "API key")
	if !ok {
		return
	}
	var req updateAPIKeyRequest
	if !s.bindJSON(c, &req) {
		return
	}
	in := apikey.UpdateInput{Scopes: req.Scopes, SetExpiresAt: req.ExpiresAt.Set, ExpiresAt: req.ExpiresAt.Value}
	if req.Name != nil {
		name := strings.TrimSpace(*req.Name)
		in.Name = &name
	}
	if req.Metadata != nil {
		in.Metadata, _ = json.Marshal(req.Metadata)
	}
	k, err := s.apiKeys.Update(c.Request.Context(), mustPrincipal(c).OrganizationID, id, in)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	s.auth.ForgetKey(id) // new scopes or expiry apply to its next request here
	c.JSON(http.StatusOK, renderAPIKey(k))
}
