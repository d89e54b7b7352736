// Package apikey manages an organization's API keys: create (the plaintext
// is returned once), list, read, update and revoke.
package apikey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/txn"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// ErrNotFound: no such key in the organization.
var ErrNotFound = errors.New("api key not found")

// Service owns the api_keys table.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

// New builds the service.
func New(pool *pgxpool.Pool) *Service { return &Service{pool: pool, q: db.New(pool)} }

// CreateInput is a validated create request.
type CreateInput struct {
	OrganizationID  uuid.UUID
	Name            string
	Scopes          []string // nil means every scope
	ExpiresAt       *time.Time
	Metadata        []byte // a JSON object
	CreatedByUserID *string
}

// Validate checks a create request as the api and the console take it:
// a name, known scopes (nil: every scope) and an expiry, if any, after now.
// Metadata, a JSON object, is the caller's to bound (validate.Metadata).
func Validate(in CreateInput, now time.Time) validate.Issues {
	var is validate.Issues
	validate.Name(in.Name, []string{"name"}, true, &is)
	if in.Scopes != nil {
		ValidateScopes(in.Scopes, &is)
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		is.Add([]string{"expiresAt"}, "Must be in the future.")
	}
	return is
}

// ValidateScopes requires at least one scope, each known and named once.
func ValidateScopes(scopes []string, is *validate.Issues) {
	if len(scopes) == 0 {
		is.Add([]string{"scopes"}, "Must name at least one scope (omit it for every scope).")
	}
	for i, sc := range scopes {
		switch {
		case !auth.ValidScope(sc):
			is.Add([]string{"scopes", validate.Index(i)}, "Unknown scope %q; known scopes: %s.", sc, strings.Join(auth.AllScopes, ", "))
		case slices.Index(scopes, sc) != i:
			is.Add([]string{"scopes", validate.Index(i)}, "Scope %q is listed twice.", sc)
		}
	}
}

// Created is a new key with its plaintext, which exists nowhere else.
type Created struct {
	Key       db.APIKey
	Plaintext string
}

// Create makes a key.
func (s *Service) Create(ctx context.Context, in CreateInput, finish txn.Finish[Created]) (Created, error) {
	plain, prefix, hash, err := auth.NewKey()
	if err != nil {
		return Created{}, err
	}
	scopes := in.Scopes
	if scopes == nil {
		scopes = auth.AllScopes
	}
	metadata := in.Metadata
	if metadata == nil {
		metadata = []byte("{}")
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Created, error) {
		k, err := s.q.WithTx(tx).CreateAPIKey(ctx, db.CreateAPIKeyParams{
			OrganizationID: in.OrganizationID, Name: in.Name, Prefix: prefix, KeyHash: hash,
			Scopes: scopes, CreatedByUserID: in.CreatedByUserID, ExpiresAt: in.ExpiresAt, Metadata: metadata,
		})
		if err != nil {
			return Created{}, fmt.Errorf("create api key: %w", err)
		}
		return Created{Key: k, Plaintext: plain}, nil
	}, finish)
}

// Get reads one key of the organization.
func (s *Service) Get(ctx context.Context, org, id uuid.UUID) (db.APIKey, error) {
	k, err := s.q.GetAPIKey(ctx, db.GetAPIKeyParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return db.APIKey{}, ErrNotFound
	}
	return k, err
}

// List returns one page of the organization's keys, newest first, and the total.
func (s *Service) List(ctx context.Context, org uuid.UUID, p page.Page) ([]db.APIKey, int64, error) {
	total, err := s.q.CountAPIKeys(ctx, org)
	if err != nil {
		return nil, 0, fmt.Errorf("count api keys: %w", err)
	}
	at, id := p.Bound()
	keys, err := s.q.ListAPIKeys(ctx, db.ListAPIKeysParams{
		OrganizationID: org, AfterCreatedAt: at, AfterID: id, Lim: int32(p.Limit), Off: int32(p.Offset),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list api keys: %w", err)
	}
	return keys, total, nil
}

// UpdateInput changes the given fields only.
type UpdateInput struct {
	Name         *string
	Scopes       []string // nil: unchanged
	Metadata     []byte   // nil: unchanged
	SetExpiresAt bool     // ExpiresAt applies (nil clears it)
	ExpiresAt    *time.Time
}

// Update changes a key's name, scopes, metadata or expiry.
func (s *Service) Update(ctx context.Context, org, id uuid.UUID, in UpdateInput) (db.APIKey, error) {
	k, err := s.q.UpdateAPIKey(ctx, db.UpdateAPIKeyParams{
		OrganizationID: org, ID: id, Name: in.Name, Scopes: in.Scopes, Metadata: in.Metadata,
		SetExpiresAt: in.SetExpiresAt, ExpiresAt: in.ExpiresAt,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return db.APIKey{}, ErrNotFound
	}
	return k, err
}

// Revoke revokes a key for good; revoking twice keeps the first time.
func (s *Service) Revoke(ctx context.Context, org, id uuid.UUID) (db.APIKey, error) {
	k, err := s.q.RevokeAPIKey(ctx, db.RevokeAPIKeyParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return db.APIKey{}, ErrNotFound
	}
	return k, err
}
