package api

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/auth"
)

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)

	rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: map[string]string{"Idempotency-Key": uuid.NewString()},
		body: `{"name":"payments server","scopes":["payment_intents:write","evidence:write"],"metadata":{"team":"payments"}}`})
	require.Equal(t, 201, rec.Code, rec.Body.String())
	created := decode[apiKeyJSON](t, rec)
	require.Len(t, created.PlaintextKey, 51)
	require.True(t, strings.HasPrefix(created.PlaintextKey, "rl_live_"))
	require.Equal(t, created.PlaintextKey[:16], created.Prefix)
	require.Equal(t, "active", created.Status)
	require.Equal(t, org.String(), created.OrganizationID)
	require.Equal(t, "user_1", *created.CreatedByUserID)
	require.JSONEq(t, `{"team":"payments"}`, string(created.Metadata))
	require.Equal(t, []string{"payment_intents:write", "evidence:write"}, created.Scopes)

	// The key authenticates (403 here means it was accepted: the route wants a session).
	envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: created.PlaintextKey}), 403, "forbidden")
	require.NoError(t, b.opts.Usage.Flush(context.Background()))
	got := decode[apiKeyJSON](t, b.do(req{method: "GET", path: "/v1/api-keys/" + created.ID, token: tok}))
	require.NotNil(t, got.LastUsedAt, "use is recorded")
	require.Empty(t, got.PlaintextKey, "the plaintext is shown once")

	// Omitted scopes mean every scope.
	rec = b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: map[string]string{"Idempotency-Key": uuid.NewString()},
		body: `{"name":"everything"}`})
	require.Equal(t, auth.AllScopes, decode[apiKeyJSON](t, rec).Scopes)

	// PATCH changes only what it names; null clears the expiry.
	exp := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	rec = b.do(req{method: "PATCH", path: "/v1/api-keys/" + created.ID, token: tok, body: `{"name":"renamed","expiresAt":"` + exp + `"}`})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	upd := decode[apiKeyJSON](t, rec)
	require.Equal(t, "renamed", upd.Name)
	require.Equal(t, created.Scopes, upd.Scopes)
	require.NotNil(t, upd.ExpiresAt)
	rec = b.do(req{method: "PATCH", path: "/v1/api-keys/" + created.ID, token: tok, body: `{"expiresAt":null,"scopes":["ledgers:read"]}`})
	upd = decode[apiKeyJSON](t, rec)
	require.Nil(t, upd.ExpiresAt)
	require.Equal(t, []string{"ledgers:read"}, upd.Scopes)
	require.Equal(t, "renamed", upd.Name)
	envelope(t, b.do(req{method: "PATCH", path: "/v1/api-keys/" + created.ID, token: tok, body: `{"expiresAt":"2001-01-01T00:00:00Z"}`}),
		400, "invalid_request")

	// DELETE revokes, idempotently; the key stops working at once.
	rec = b.do(req{method: "DELETE", path: "/v1/api-keys/" + created.ID, token: tok})
	require.Equal(t, 200, rec.Code)
	revoked := decode[apiKeyJSON](t, rec)
	require.Equal(t, "revoked", revoked.Status)
	again := decode[apiKeyJSON](t, b.do(req{method: "DELETE", path: "/v1/api-keys/" + created.ID, token: tok}))
	require.Equal(t, revoked.RevokedAt, again.RevokedAt)
	envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: created.PlaintextKey}), 401, "unauthorized")
}

func TestAPIKeyListPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	for range 5 {
		b.apiKey(org)
	}
	b.apiKey(b.org("Other")) // never listed for Acme

	first := decode[listResponse[apiKeyJSON]](t, b.do(req{method: "GET", path: "/v1/api-keys?limit=2", token: tok}))
	require.EqualValues(t, 5, first.Total)
	require.Len(t, first.Items, 2)
	require.NotEmpty(t, first.NextCursor)

	seen := map[string]bool{}
	for _, k := range first.Items {
		seen[k.ID] = true
	}
	cur := first.NextCursor
	for cur != "" {
		page := decode[listResponse[apiKeyJSON]](t, b.do(req{method: "GET", path: "/v1/api-keys?limit=2&cursor=" + cur, token: tok}))
		for _, k := range page.Items {
			require.False(t, seen[k.ID], "cursor pages never repeat a row")
			seen[k.ID] = true
		}
		cur = page.NextCursor
	}
	require.Len(t, seen, 5)

	byOffset := decode[listResponse[apiKeyJSON]](t, b.do(req{method: "GET", path: "/v1/api-keys?limit=2&offset=2", token: tok}))
	require.Equal(t, 2, byOffset.Offset)
	require.Len(t, byOffset.Items, 2)
	require.False(t, seen[""])

	envelope(t, b.do(req{method: "GET", path: "/v1/api-keys?cursor=garbage", token: tok}), 400, "invalid_request")
	envelope(t, b.do(req{method: "GET", path: "/v1/api-keys?limit=101", token: tok}), 400, "invalid_request")
}

// Keys are never logged, and the plaintext is stored nowhere: not in the key
// row (only its SHA-256), not in idempotency records, not in logs.
func TestKeysAreNeverLoggedNorStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: map[string]string{"Idempotency-Key": uuid.NewString()},
		body: `{"name":"secret keeper"}`})
	require.Equal(t, 201, rec.Code)
	plain := decode[apiKeyJSON](t, rec).PlaintextKey
	// Use it, succeed and fail with it, so every log path sees it.
	b.do(req{method: "GET", path: "/v1/api-keys", token: plain})
	b.do(req{method: "GET", path: "/v1/api-keys/" + uuid.NewString(), token: plain, headers: map[string]string{"X-Organization-Id": uuid.NewString()}})
	b.do(req{method: "GET", path: "/v1/nowhere", token: plain})

	logs := b.logs.String()
	require.NotEmpty(t, logs)
	require.NotContains(t, logs, plain)
	require.NotContains(t, logs, plain[16:], "not even the secret part")
	require.NotContains(t, logs, tok, "nor session tokens")

	ctx := context.Background()
	var rows []string
	for _, q := range []string{
		"SELECT to_jsonb(k)::text FROM api_keys k",
		"SELECT to_jsonb(r)::text || convert_from(coalesce(r.response_body, ''), 'UTF8') FROM idempotency_records r",
	} {
		rs, err := b.pool.Query(ctx, q)
		require.NoError(t, err)
		for rs.Next() {
			var s string
			require.NoError(t, rs.Scan(&s))
			rows = append(rows, s)
		}
		require.NoError(t, rs.Err())
	}
	require.GreaterOrEqual(t, len(rows), 2)
	for _, r := range rows {
		require.NotContains(t, r, plain[16:])
	}
	var hash []byte
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT key_hash FROM api_keys WHERE name = 'secret keeper'").Scan(&hash))
	sum := sha256.Sum256([]byte(plain))
	require.Equal(t, sum[:], hash)
}
