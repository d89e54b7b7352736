package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/metrics"
)

func do(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, h, req{method: method, path: path, headers: hdr})
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return body
}

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := do(t, b.router, http.MethodGet, "/health", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
}

func TestReady(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := do(t, b.router, http.MethodGet, "/ready", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.JSONEq(t, `{"status":"ready","checks":{"postgres":"ok","redis":"ok"}}`, rec.Body.String())
}

func TestReadyNamesWhatIsDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Nothing listens on port 1: the Redis check must fail, Postgres still pass.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = dead.Close() })
	rec := do(t, NewRouter(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Pool: b.pool,
		Redis: dead, Metrics: metrics.New(), Options: b.opts}), http.MethodGet, "/ready", nil)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	body := decodeError(t, rec)
	require.Equal(t, "service_unavailable", body["error"])
	checks := body["details"].(map[string]any)["checks"].(map[string]any)
	require.Equal(t, "ok", checks["postgres"])
	require.True(t, strings.HasPrefix(checks["redis"].(string), "down: "), checks["redis"])
}

// With Postgres unreachable a /v1 request is answered 503
// service_unavailable with Retry-After, as the contract documents, rather
// than 500 (the key cannot even be looked up).
func TestDatabaseDownIsServiceUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Nothing listens on port 1.
	dead, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	r := NewRouter(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Pool: dead,
		Redis: b.redis, Metrics: metrics.New(), Options: b.opts})
	rec := serve(t, r, req{method: http.MethodGet, path: "/v1/payment-intents", token: "rl_live_" + strings.Repeat("A", 43)})
	envelope(t, rec, http.StatusServiceUnavailable, CodeServiceUnavailable)
	require.Equal(t, "2", rec.Header().Get("Retry-After"))
}

func TestUnknownRouteAndWrongMethodUseTheEnvelope(t *testing.T) {
	t.Parallel()
	b := setup(t)

	rec := do(t, b.router, http.MethodGet, "/v1/does-not-exist", nil)
	require.Equal(t, http.StatusNotFound, rec.Code)
	body := decodeError(t, rec)
	require.Equal(t, "not_found", body["error"])
	require.NotEmpty(t, body["message"])

	rec = do(t, b.router, http.MethodDelete, "/health", nil)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "method_not_allowed", decodeError(t, rec)["error"])
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t)

	rec := do(t, b.router, http.MethodGet, "/health", map[string]string{"X-Request-Id": "trace-abc.123"})
	require.Equal(t, "trace-abc.123", rec.Header().Get("X-Request-Id"))

	rec = do(t, b.router, http.MethodGet, "/health", nil)
	require.Len(t, rec.Header().Get("X-Request-Id"), 36, "a request id is made when none is sent")

	rec = do(t, b.router, http.MethodGet, "/health", map[string]string{"X-Request-Id": strings.Repeat("x", 129)})
	require.Len(t, rec.Header().Get("X-Request-Id"), 36, "an oversized request id is replaced")
}

func TestPanicAnswersTheEnvelopeWithoutAStack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.router.GET("/boom", func(*gin.Context) { panic("secret internal state") })

	rec := do(t, b.router, http.MethodGet, "/boom", nil)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	body := decodeError(t, rec)
	require.Equal(t, "internal_error", body["error"])
	require.NotContains(t, rec.Body.String(), "secret internal state")
	require.NotContains(t, rec.Body.String(), "goroutine")
}

func TestMetricsCountRequestsByRouteTemplate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	do(t, b.router, http.MethodGet, "/health", nil)
	do(t, b.router, http.MethodGet, "/no/such/path/123", nil)

	rec := do(t, b.router, http.MethodGet, "/metrics", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	out := rec.Body.String()
	require.Contains(t, out, `reconlayer_http_requests_total{method="GET",route="/health",status_class="2xx"} 1`)
	require.Contains(t, out, `reconlayer_http_requests_total{method="GET",route="unmatched",status_class="4xx"} 1`)
	require.NotContains(t, out, "/no/such/path", "raw paths must never become label values")
	require.Contains(t, out, "reconlayer_build_info")
}
