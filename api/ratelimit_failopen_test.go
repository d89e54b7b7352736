package api

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/metrics"
)

// With Redis unreachable the rate limiter fails open: the request is served,
// unmetered and without x-ratelimit-* headers. This is the one case the
// contract documents for their absence (they are required otherwise), so the
// exchange is not checked against it.
func TestRateLimiterFailsOpenWithoutHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	// Nothing listens on port 1.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	logs := &syncBuffer{}
	r := NewRouter(Deps{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Pool: b.pool,
		Redis: dead, Metrics: metrics.New(), Options: b.opts})

	_, rec := serveOffContract(t, r, req{method: http.MethodGet, path: "/v1/payment-intents", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	for _, h := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "Retry-After"} {
		require.Empty(t, rec.Header().Values(h), h)
	}
	require.Contains(t, logs.String(), "rate limiter unavailable, request allowed")

	// An error answer is served the same way.
	_, rec = serveOffContract(t, r, req{method: http.MethodGet, path: "/v1/payment-intents", token: "bogus"})
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
	require.Empty(t, rec.Header().Values("X-Ratelimit-Limit"))
}
