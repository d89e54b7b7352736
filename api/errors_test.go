package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/idempotency"
)

// TestErrorCatalogue walks the rows of seed 002's error catalogue, each with
// a real request against the real router, database and Redis. (409
// payment_intent_conflict belongs to the payment-intent routes and is tested
// with them.)
func TestErrorCatalogue(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.MaxJSONBodyBytes = 4 << 10 })
	org := b.org("Acme")
	tok := b.session("user_1", org)
	idem := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	t.Run("400 invalid_request names every bad field by path", func(t *testing.T) {
		t.Parallel()
		rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(uuid.NewString()),
			body: `{"name":"","scopes":["payment_intents:read","nope",7],"expiresAt":"tomorrow","metadata":{"k":{"v":[1,2]}},"colour":"red"}`})
		e := envelope(t, rec, 400, "invalid_request")
		paths := map[string]string{}
		for _, is := range e.Issues {
			paths[strings.Join(is.Path, ".")] = is.Message
		}
		require.Contains(t, paths, "colour", "unknown fields are rejected by name")
		require.Contains(t, paths["colour"], `"colour"`)
		require.Contains(t, paths, "scopes.2", "array indices are path segments")
		require.Contains(t, paths, "expiresAt")
		require.Contains(t, paths, "name", "rule failures come in the same response as shape failures")
		require.Contains(t, paths["scopes.1"], `Unknown scope "nope"`)
		require.Len(t, e.Issues, 5, "%v", e.Issues)
	})

	t.Run("400 invalid_request for nested values and query strings", func(t *testing.T) {
		t.Parallel()
		rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(uuid.NewString()),
			body: `{"name":"ok","scopes":["ledgers:read","nope"],"metadata":{"` + strings.Repeat("k", 41) + `":"v"}}`})
		e := envelope(t, rec, 400, "invalid_request")
		require.ElementsMatch(t, [][]string{{"scopes", "1"}, {"metadata", strings.Repeat("k", 41)}},
			[][]string{e.Issues[0].Path, e.Issues[1].Path})

		rec = b.do(req{method: "GET", path: "/v1/api-keys?limit=0&offset=-1", token: tok})
		e = envelope(t, rec, 400, "invalid_request")
		require.Len(t, e.Issues, 2)
		require.Equal(t, []string{"limit"}, e.Issues[0].Path)
		require.Equal(t, []string{"offset"}, e.Issues[1].Path)
	})

	t.Run("400 invalid_request for malformed JSON", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{`{"name":`, `{"name":"a"} {"name":"b"}`, `[1,2]`, `"x"`} {
			rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(uuid.NewString()), body: body})
			envelope(t, rec, 400, "invalid_request")
		}
	})

	t.Run("400 invalid_idempotency_key when missing or too long", func(t *testing.T) {
		t.Parallel()
		rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, body: `{"name":"k"}`})
		e := envelope(t, rec, 400, "invalid_idempotency_key")
		require.Contains(t, e.Message, "Idempotency-Key")
		rec = b.do(req{method: "POST", path: "/v1/api-keys", token: tok, body: `{"name":"k"}`, headers: idem(strings.Repeat("x", 256))})
		envelope(t, rec, 400, "invalid_idempotency_key")
		rec = b.do(req{method: "POST", path: "/v1/api-keys", token: tok, body: `{"name":"k"}`, headers: idem(strings.Repeat("x", 255))})
		require.Equal(t, 201, rec.Code, "255 characters is allowed")
	})

	t.Run("400 invalid_organization_context", func(t *testing.T) {
		t.Parallel()
		other := b.org("Other")
		rec := b.do(req{method: "GET", path: "/v1/api-keys", token: b.session("user_2", org, other)})
		envelope(t, rec, 400, "invalid_organization_context")
		rec = b.do(req{method: "GET", path: "/v1/api-keys", token: tok, headers: map[string]string{"X-Organization-Id": other.String()}})
		envelope(t, rec, 400, "invalid_organization_context")
	})

	t.Run("401 unauthorized: missing, malformed, unknown, revoked, expired", func(t *testing.T) {
		t.Parallel()
		live, _ := b.apiKey(org)
		revoked, rk := b.apiKey(org)
		_, err := b.pool.Exec(context.Background(), "UPDATE api_keys SET revoked_at = now() WHERE id = $1", rk.ID)
		require.NoError(t, err)
		expired, ek := b.apiKey(org)
		_, err = b.pool.Exec(context.Background(), "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", ek.ID)
		require.NoError(t, err)

		for name, r := range map[string]req{
			"missing header":   {method: "GET", path: "/v1/api-keys"},
			"not bearer":       {method: "GET", path: "/v1/api-keys", headers: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
			"malformed key":    {method: "GET", path: "/v1/api-keys", token: "rl_live_short"},
			"unknown key":      {method: "GET", path: "/v1/api-keys", token: "rl_live_" + strings.Repeat("A", 43)},
			"tampered key":     {method: "GET", path: "/v1/api-keys", token: live[:len(live)-1] + flip(live[len(live)-1])},
			"revoked key":      {method: "GET", path: "/v1/api-keys", token: revoked},
			"expired key":      {method: "GET", path: "/v1/api-keys", token: expired},
			"not a credential": {method: "GET", path: "/v1/api-keys", token: "hello"},
		} {
			rec := b.do(r)
			e := envelope(t, rec, 401, "unauthorized")
			require.NotContains(t, e.Message, live, name)
		}
		e := envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: revoked}), 401, "unauthorized")
		require.Contains(t, e.Message, "revoked")
		e = envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: expired}), 401, "unauthorized")
		require.Contains(t, e.Message, "expired")
	})

	t.Run("403 forbidden: session-only route with an API key", func(t *testing.T) {
		t.Parallel()
		key, _ := b.apiKey(org)
		e := envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: key}), 403, "forbidden")
		require.Contains(t, e.Message, "session")
	})

	t.Run("404 not_found: unknown id, malformed id, unknown route", func(t *testing.T) {
		t.Parallel()
		envelope(t, b.do(req{method: "GET", path: "/v1/api-keys/" + uuid.NewString(), token: tok}), 404, "not_found")
		envelope(t, b.do(req{method: "GET", path: "/v1/api-keys/not-a-uuid", token: tok}), 404, "not_found")
		rec := b.do(req{method: "GET", path: "/v1/nothing-here", token: tok})
		envelope(t, rec, 404, "not_found")
		require.NotEmpty(t, rec.Header().Get("X-Ratelimit-Limit"), "unknown /v1 routes are rate-limited too")
	})

	t.Run("405 wrong method", func(t *testing.T) {
		t.Parallel()
		envelope(t, b.do(req{method: "PUT", path: "/v1/api-keys", token: tok, body: `{}`}), 405, "method_not_allowed")
	})

	t.Run("409 idempotency_key_conflict: same key, different body", func(t *testing.T) {
		t.Parallel()
		k := uuid.NewString()
		require.Equal(t, 201, b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(k), body: `{"name":"first"}`}).Code)
		e := envelope(t, b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(k), body: `{"name":"second"}`}),
			409, "idempotency_key_conflict")
		require.Contains(t, e.Message, "different request body")
	})

	t.Run("409 idempotency_request_in_progress while the first request runs", func(t *testing.T) {
		t.Parallel()
		k := uuid.NewString()
		body := `{"name":"slow"}`
		// The first request holds the key (as a request still running would).
		store := idempotency.NewStore(b.pool, time.Minute, 24*time.Hour)
		_, _, err := store.Begin(context.Background(), idempotency.Request{
			OrganizationID: org, Operation: "POST /v1/api-keys", Key: k, Fingerprint: idempotency.Fingerprint([]byte(body)),
		})
		require.NoError(t, err)
		envelope(t, b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(k), body: body}),
			409, "idempotency_request_in_progress")
	})

	t.Run("413 payload_too_large names the limit", func(t *testing.T) {
		t.Parallel()
		big := `{"name":"` + strings.Repeat("x", 5000) + `"}`
		e := envelope(t, b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: idem(uuid.NewString()), body: big}),
			413, "payload_too_large")
		require.Contains(t, e.Message, "4 KiB")
		require.EqualValues(t, 4096, e.Details.(map[string]any)["limitBytes"])
		e = envelope(t, b.do(req{method: "PATCH", path: "/v1/api-keys/" + uuid.NewString(), token: tok, body: big}),
			413, "payload_too_large")
		require.Contains(t, e.Message, "4 KiB")
	})

	t.Run("415 wrong content type", func(t *testing.T) {
		t.Parallel()
		rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, body: `name=x`,
			headers: map[string]string{"Idempotency-Key": uuid.NewString(), "Content-Type": "application/x-www-form-urlencoded"}})
		envelope(t, rec, 415, "unsupported_media_type")
	})

	t.Run("429 rate limit with the fastify body and headers", func(t *testing.T) {
		t.Parallel()
		limited := b.org("Limited")
		_, err := b.pool.Exec(context.Background(), "UPDATE organizations SET rate_limit_per_minute = 2 WHERE id = $1", limited)
		require.NoError(t, err)
		lt := b.session("user_3", limited)
		for i, remaining := range []string{"1", "0"} {
			rec := b.do(req{method: "GET", path: "/v1/api-keys", token: lt})
			require.Equal(t, 200, rec.Code, "request %d", i)
			require.Equal(t, "2", rec.Header().Get("X-Ratelimit-Limit"))
			require.Equal(t, remaining, rec.Header().Get("X-Ratelimit-Remaining"))
		}
		rec := b.do(req{method: "GET", path: "/v1/api-keys", token: lt})
		require.Equal(t, 429, rec.Code)
		require.Equal(t, "0", rec.Header().Get("X-Ratelimit-Remaining"))
		require.NotEmpty(t, rec.Header().Get("Retry-After"))
		require.NotEmpty(t, rec.Header().Get("X-Ratelimit-Reset"))
		body := decode[map[string]any](t, rec)
		require.EqualValues(t, 429, body["statusCode"])
		require.Equal(t, "Too Many Requests", body["error"])
		require.Contains(t, body["message"], "Rate limit exceeded, retry in")
		// Another organization's budget is untouched.
		require.Equal(t, 200, b.do(req{method: "GET", path: "/v1/api-keys", token: tok}).Code)
	})

	t.Run("500 internal_error without internals", func(t *testing.T) {
		t.Parallel()
		r := b.newRouter()
		r.GET("/v1/explode", func(*gin.Context) { panic("db password is hunter2") })
		rec := serve(t, r, req{method: "GET", path: "/v1/explode"})
		envelope(t, rec, 500, "internal_error")
		require.NotContains(t, rec.Body.String(), "hunter2")
	})
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
