package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/idempotency"
)

// 100 concurrent requests with one Idempotency-Key and one body create
// exactly one resource; every other answer is its replay or 409 in progress.
func TestConcurrentRequestsWithOneKeyCreateOneResource(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	srv := httptest.NewServer(b.router)
	t.Cleanup(srv.Close)
	client := contractClient(t, http.DefaultClient)

	const n = 100
	key := uuid.NewString()
	type answer struct {
		status   int
		replayed string
		body     string
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Same document, different formatting: still the same request.
			body := `{"name":"concurrent","scopes":["ledgers:read"]}`
			if i%2 == 1 {
				body = "{\n  \"scopes\": [\"ledgers:read\"],\n  \"name\": \"concurrent\"\n}"
			}
			r, err := http.NewRequest("POST", srv.URL+"/v1/api-keys", strings.NewReader(body))
			if err != nil {
				panic(err)
			}
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Idempotency-Key", key)
			resp, err := client.Do(r)
			if err != nil {
				answers[i] = answer{status: -1, body: err.Error()}
				return
			}
			defer resp.Body.Close()
			rb, _ := io.ReadAll(resp.Body)
			answers[i] = answer{resp.StatusCode, resp.Header.Get("Idempotency-Replayed"), string(rb)}
		}()
	}
	close(start)
	wg.Wait()

	var created, replayed, inProgress int
	var id string
	for _, a := range answers {
		switch {
		case a.status == 201 && a.replayed == "false":
			created++
			id = decodeString(t, a.body, "id")
			require.Contains(t, a.body, `"plaintextKey":"rl_live_`)
		case a.status == 201 && a.replayed == "true":
			replayed++
			require.NotContains(t, a.body, "plaintextKey", "a replay never reveals the key again")
		case a.status == 409:
			inProgress++
			require.Contains(t, a.body, `"idempotency_request_in_progress"`)
		default:
			t.Fatalf("unexpected answer %d %q: %s", a.status, a.replayed, a.body)
		}
	}
	t.Logf("created %d, replayed %d, in progress %d", created, replayed, inProgress)
	require.Equal(t, 1, created)
	require.Equal(t, n, created+replayed+inProgress)
	for _, a := range answers {
		if a.status == 201 {
			require.Equal(t, id, decodeString(t, a.body, "id"), "every replay is the one resource")
		}
	}
	var count int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM api_keys WHERE organization_id = $1", org).Scan(&count))
	require.Equal(t, 1, count)
}

func decodeString(t *testing.T, body, field string) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, jsonUnmarshal(body, &m), body)
	s, _ := m[field].(string)
	return s
}

// A claim whose owner died is released after the lease: the retry runs.
func TestCrashedOwnersClaimIsReleasedAfterTheLease(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.IdempotencyLease = time.Second })
	org := b.org("Acme")
	tok := b.session("user_1", org)
	key, body := uuid.NewString(), `{"name":"after crash"}`

	// A request claimed the key and its process died before committing.
	store := idempotency.NewStore(b.pool, time.Second, 24*time.Hour)
	_, _, err := store.Begin(context.Background(), idempotency.Request{
		OrganizationID: org, Operation: "POST /v1/api-keys", Key: key, Fingerprint: idempotency.Fingerprint([]byte(body)),
	})
	require.NoError(t, err)
	h := map[string]string{"Idempotency-Key": key}
	envelope(t, b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: h, body: body}), 409, "idempotency_request_in_progress")

	require.Eventually(t, func() bool {
		return b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: h, body: body}).Code == 201
	}, 10*time.Second, 200*time.Millisecond)
	rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: h, body: body})
	require.Equal(t, 201, rec.Code)
	require.Equal(t, "true", rec.Header().Get("Idempotency-Replayed"))
}

// Validation failures are not stored: the corrected retry with the same key runs.
func TestValidationFailuresAreNotStored(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	tok := b.session("user_1", org)
	h := map[string]string{"Idempotency-Key": uuid.NewString()}
	envelope(t, b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: h, body: `{"name":""}`}), 400, "invalid_request")
	rec := b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: h, body: `{"name":""}`})
	envelope(t, rec, 400, "invalid_request")
	rec = b.do(req{method: "POST", path: "/v1/api-keys", token: tok, headers: h, body: `{"name":"fixed"}`})
	require.Equal(t, 201, rec.Code, rec.Body.String())
	require.Equal(t, "false", rec.Header().Get("Idempotency-Replayed"))
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM idempotency_records").Scan(&n))
	require.Equal(t, 1, n)
}

// The same key on another organization or another route is another request.
func TestIdempotencyKeysAreScopedByOrganization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, c := b.org("A"), b.org("C")
	key := uuid.NewString()
	h := map[string]string{"Idempotency-Key": key}
	ra := b.do(req{method: "POST", path: "/v1/api-keys", token: b.session("u", a), headers: h, body: `{"name":"x"}`})
	rc := b.do(req{method: "POST", path: "/v1/api-keys", token: b.session("u", c), headers: h, body: `{"name":"x"}`})
	require.Equal(t, 201, ra.Code)
	require.Equal(t, 201, rc.Code)
	require.Equal(t, "false", rc.Header().Get("Idempotency-Replayed"))
	require.NotEqual(t, decodeString(t, ra.Body.String(), "id"), decodeString(t, rc.Body.String(), "id"))
}

// Two api processes draw on one budget: the limit is in Redis, not in memory.
func TestRateLimitIsSharedAcrossProcessesAndFallsBackToIP(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.RateLimitPerMinute = 3 })
	org := b.org("Acme")
	tok := b.session("user_1", org)
	other := b.newRouter()
	codes := []int{
		b.do(req{method: "GET", path: "/v1/api-keys", token: tok}).Code,
		serve(t, other, req{method: "GET", path: "/v1/api-keys", token: tok}).Code,
		b.do(req{method: "GET", path: "/v1/api-keys", token: tok}).Code,
		serve(t, other, req{method: "GET", path: "/v1/api-keys", token: tok}).Code,
	}
	require.Equal(t, []int{200, 200, 200, 429}, codes)

	// No organization resolves: the client IP has its own budget.
	for range 3 {
		envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: "bogus"}), 401, "unauthorized")
	}
	rec := b.do(req{method: "GET", path: "/v1/api-keys", token: "bogus"})
	require.Equal(t, 429, rec.Code)
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
}
