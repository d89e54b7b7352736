package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Kind is the kind of credential a request presented.
type Kind string

const (
	KindAPIKey  Kind = "api_key"
	KindSession Kind = "session"
)

// Principal is the resolved caller of one request.
type Principal struct {
	Kind           Kind
	OrganizationID uuid.UUID
	APIKeyID       uuid.UUID // KindAPIKey only
	UserID         string    // KindSession only
	ExpiresAt      time.Time // KindSession only: when the token expires
	Scopes         []string
	// RateLimitPerMinute is the organization's own budget, nil for the default.
	RateLimitPerMinute *int32
}

// HasScope tells whether the principal may use scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// Failure kinds, mapped by the api to the error envelope.
var (
	ErrUnauthorized        = errors.New("unauthorized")                 // 401 unauthorized
	ErrOrganizationContext = errors.New("invalid organization context") // 400 invalid_organization_context
)

// Error says why a credential was refused; it wraps one of the Err values.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func unauthorized(format string, args ...any) error {
	return &Error{Kind: ErrUnauthorized, Msg: fmt.Sprintf(format, args...)}
}

func orgContext(format string, args ...any) error {
	return &Error{Kind: ErrOrganizationContext, Msg: fmt.Sprintf(format, args...)}
}

// SessionClaims are the claims of a dashboard session token: the subject is
// the user; OrgIDs (or a single OrgID, as identity providers name the
// active organization) are the organizations the user may act for.
type SessionClaims struct {
	jwt.RegisteredClaims
	OrgIDs []string `json:"org_ids,omitempty"`
	OrgID  string   `json:"org_id,omitempty"`
}

// SessionConfig says how session tokens are verified. With neither a secret
// nor a JWKS, session tokens are refused.
type SessionConfig struct {
	HS256Secret []byte          // local use
	JWKS        keyfunc.Keyfunc // production identity provider
	Issuer      string          // required issuer, when set
	Audience    string          // required audience, when set
}

// Authenticator resolves credentials against the database.
type Authenticator struct {
	q       *db.Queries
	session SessionConfig
	usage   *UsageRecorder
	now     func() time.Time
	// keys remembers API key lookups for KeyCacheTTL: a high-volume
	// client sends thousands of requests a second with one key, and the
	// lookup was one of the few queries every request made. The price: a
	// revoked key (or a changed rate limit) takes effect within the TTL on
	// every api process, not at once. Expiry is checked on every request.
	keys sync.Map // sha-256 hash (string) → cachedKey
}

// KeyCacheTTL is how long an API key lookup is reused.
const KeyCacheTTL = 5 * time.Second

type cachedKey struct {
	row db.GetAPIKeyByHashRow
	at  time.Time
}

// NewAuthenticator builds an authenticator; usage may be nil (no lastUsedAt).
func NewAuthenticator(q *db.Queries, session SessionConfig, usage *UsageRecorder) *Authenticator {
	return &Authenticator{q: q, session: session, usage: usage, now: time.Now}
}

// ForgetKey drops a key from this process's cache, so that a revocation or
// a scope change made through this process applies to its next request.
func (a *Authenticator) ForgetKey(id uuid.UUID) {
	a.keys.Range(func(k, v any) bool {
		if v.(cachedKey).row.APIKey.ID == id {
			a.keys.Delete(k)
		}
		return true
	})
}

// lookupKey reads an API key by hash, from the cache when fresh.
func (a *Authenticator) lookupKey(ctx context.Context, hash []byte) (db.GetAPIKeyByHashRow, error) {
	now := a.now()
	if v, ok := a.keys.Load(string(hash)); ok {
		if c := v.(cachedKey); now.Sub(c.at) < KeyCacheTTL {
			return c.row, nil
		}
		a.keys.Delete(string(hash))
	}
	row, err := a.q.GetAPIKeyByHash(ctx, hash)
	if err != nil {
		return row, err
	}
	a.keys.Store(string(hash), cachedKey{row: row, at: now})
	return row, nil
}

// Authenticate resolves the Authorization header and x-organization-id.
func (a *Authenticator) Authenticate(ctx context.Context, authorization, orgHeader string) (Principal, error) {
	if authorization == "" {
		return Principal{}, unauthorized("Missing Authorization header: send `Authorization: Bearer <API key or session token>`.")
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, unauthorized("The Authorization header must be `Bearer <API key or session token>`.")
	}
	if strings.HasPrefix(token, KeyPrefix) {
		return a.apiKey(ctx, token, orgHeader)
	}
	return a.sessionToken(ctx, token, orgHeader)
}

func (a *Authenticator) apiKey(ctx context.Context, token, orgHeader string) (Principal, error) {
	if !wellFormedKey(token) {
		return Principal{}, unauthorized("Invalid API key.")
	}
	hash := HashKey(token)
	row, err := a.lookupKey(ctx, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, unauthorized("Invalid API key.")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up api key: %w", err)
	}
	k := row.APIKey
	// The lookup is by hash already; comparing again in constant time keeps
	// the check timing-safe even if the lookup ever becomes a prefix search.
	if subtle.ConstantTimeCompare(k.KeyHash, hash) != 1 {
		return Principal{}, unauthorized("Invalid API key.")
	}
	switch KeyStatus(k, a.now()) {
	case StatusRevoked:
		return Principal{}, unauthorized("This API key has been revoked.")
	case StatusExpired:
		return Principal{}, unauthorized("This API key has expired.")
	}
	if orgHeader != "" && !sameOrg(orgHeader, k.OrganizationID.String()) {
		return Principal{}, orgContext("x-organization-id %q contradicts the API key, which belongs to organization %s.", orgHeader, k.OrganizationID)
	}
	if a.usage != nil {
		a.usage.Touch(k.ID)
	}
	return Principal{
		Kind: KindAPIKey, OrganizationID: k.OrganizationID, APIKeyID: k.ID,
		Scopes: k.Scopes, RateLimitPerMinute: row.RateLimitPerMinute,
	}, nil
}

func (a *Authenticator) keyfunc(t *jwt.Token) (any, error) {
	if t.Method == jwt.SigningMethodHS256 {
		if len(a.session.HS256Secret) == 0 {
			return nil, errors.New("HS256 session tokens are not accepted")
		}
		return a.session.HS256Secret, nil
	}
	if a.session.JWKS == nil {
		return nil, fmt.Errorf("%s session tokens are not accepted", t.Method.Alg())
	}
	return a.session.JWKS.Keyfunc(t)
}

func (a *Authenticator) sessionToken(ctx context.Context, token, orgHeader string) (Principal, error) {
	if len(a.session.HS256Secret) == 0 && a.session.JWKS == nil {
		return Principal{}, unauthorized("Invalid credential: not an API key, and session tokens are not enabled on this server.")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second),
		jwt.WithTimeFunc(a.now),
	}
	if a.session.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.session.Issuer))
	}
	if a.session.Audience != "" {
		opts = append(opts, jwt.WithAudience(a.session.Audience))
	}
	var claims SessionClaims
	if _, err := jwt.ParseWithClaims(token, &claims, a.keyfunc, opts...); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Principal{}, unauthorized("The session token has expired.")
		}
		return Principal{}, unauthorized("Invalid credential: not a valid API key or session token.")
	}
	if claims.Subject == "" {
		return Principal{}, unauthorized("The session token has no subject (user id).")
	}

	allowed := slices.Clone(claims.OrgIDs)
	if claims.OrgID != "" && !slices.Contains(allowed, claims.OrgID) {
		allowed = append(allowed, claims.OrgID)
	}
	var chosen string
	switch {
	case orgHeader != "":
		i := slices.IndexFunc(allowed, func(o string) bool { return sameOrg(o, orgHeader) })
		if i < 0 {
			return Principal{}, orgContext("x-organization-id %q is not an organization this session may act for.", orgHeader)
		}
		chosen = allowed[i]
	case len(allowed) == 1:
		chosen = allowed[0]
	case len(allowed) == 0:
		return Principal{}, orgContext("The session token names no organization.")
	default:
		return Principal{}, orgContext("This session may act for several organizations: choose one with the x-organization-id header.")
	}
	orgID, err := uuid.Parse(chosen)
	if err != nil {
		return Principal{}, orgContext("Organization %q does not exist.", chosen)
	}
	org, err := a.q.GetOrganization(ctx, orgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, orgContext("Organization %q does not exist.", chosen)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up organization: %w", err)
	}
	return Principal{
		Kind: KindSession, OrganizationID: org.ID, UserID: claims.Subject, ExpiresAt: claims.ExpiresAt.Time,
		Scopes: AllScopes, RateLimitPerMinute: org.RateLimitPerMinute,
	}, nil
}

// sameOrg compares organization ids as UUIDs when they are (case and
// braces do not make another organization), else as strings.
func sameOrg(a, b string) bool {
	ua, errA := uuid.Parse(a)
	ub, errB := uuid.Parse(b)
	if errA == nil && errB == nil {
		return ua == ub
	}
	return a == b
}

// SignSession makes an HS256 session token for local use (`reconlayer admin session-token`).
func SignSession(secret []byte, userID string, orgIDs []string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) == 0 {
		return "", errors.New("no session secret configured")
	}
	claims := SessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		OrgIDs: orgIDs,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// Key statuses, derived from expires_at and revoked_at.
const (
	StatusActive  = "active"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// KeyStatus derives a key's status at now.
func KeyStatus(k db.APIKey, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return StatusRevoked
	case k.ExpiresAt != nil && !k.ExpiresAt.After(now):
		return StatusExpired
	default:
		return StatusActive
	}
}
