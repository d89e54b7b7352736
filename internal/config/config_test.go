package config

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(env(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultDatabaseURL, cfg.DatabaseURL)
	require.Equal(t, DefaultRedisURL, cfg.RedisURL)
	require.Equal(t, ":3001", cfg.HTTPAddr)
	require.Equal(t, ":3002", cfg.MetricsAddr)
	require.Equal(t, 64, cfg.WorkerConcurrency)
	require.Equal(t, 30*time.Second, cfg.ShutdownTimeout)
	require.Equal(t, slog.LevelInfo, cfg.LogLevel)
	require.Equal(t, 300, cfg.RateLimitPerMinute)
	require.Equal(t, int64(1<<20), cfg.MaxJSONBodyBytes)
	require.Equal(t, 60*time.Second, cfg.IdempotencyLease)
	require.Equal(t, 30*time.Second, cfg.StateGaugeInterval)
	require.Empty(t, cfg.SessionSecret)
	require.False(t, cfg.AdminQueues)
	require.False(t, cfg.ConsoleSecureCookie)
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(env(map[string]string{
		"DATABASE_URL":                     "postgresql://u:p@db.internal:6543/recon",
		"REDIS_URL":                        "rediss://cache:6380/2",
		"RECONLAYER_HTTP_ADDR":             "127.0.0.1:8080",
		"RECONLAYER_METRICS_ADDR":          "off",
		"RECONLAYER_WORKER_CONCURRENCY":    "8",
		"RECONLAYER_SHUTDOWN_TIMEOUT":      "90s",
		"RECONLAYER_LOG_LEVEL":             "debug",
		"RECONLAYER_ADMIN_QUEUES":          "true",
		"RECONLAYER_CONSOLE_SECURE_COOKIE": "true",
	}))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", cfg.HTTPAddr)
	require.Empty(t, cfg.MetricsAddr)
	require.Equal(t, 8, cfg.WorkerConcurrency)
	require.Equal(t, 90*time.Second, cfg.ShutdownTimeout)
	require.Equal(t, slog.LevelDebug, cfg.LogLevel)
	require.True(t, cfg.AdminQueues)
	require.True(t, cfg.ConsoleSecureCookie)
}

func TestBadValuesNameTheVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
	}{
		{"DATABASE_URL", "mysql://root@localhost/recon"},
		{"DATABASE_URL", "postgres://"},
		{"DATABASE_URL", "postgres://u:secret@host:5432/db\x7f"},
		{"REDIS_URL", "http://localhost:6379"},
		{"RECONLAYER_HTTP_ADDR", "3001"},
		{"RECONLAYER_HTTP_ADDR", ":http-ish"},
		{"RECONLAYER_METRICS_ADDR", "nope"},
		{"RECONLAYER_WORKER_CONCURRENCY", "0"},
		{"RECONLAYER_WORKER_CONCURRENCY", "ten"},
		{"RECONLAYER_DATABASE_MAX_CONNS", "-1"},
		{"RECONLAYER_SHUTDOWN_TIMEOUT", "soon"},
		{"RECONLAYER_LOG_LEVEL", "loud"},
		{"RECONLAYER_SESSION_SECRET", "short"},
		{"RECONLAYER_JWKS_URL", "ftp://idp/jwks"},
		{"RECONLAYER_RATE_LIMIT_PER_MINUTE", "0"},
		{"RECONLAYER_MAX_JSON_BODY_BYTES", "1MB"},
		{"RECONLAYER_IDEMPOTENCY_LEASE", "1ms"},
		{"RECONLAYER_EVIDENCE_WAIT", "-1s"},
		{"RECONLAYER_EVIDENCE_WAIT", "1m"},
		{"RECONLAYER_WORKER_QUEUES", "critical"},
		{"RECONLAYER_WORKER_QUEUES", "urgent=5"},
		{"RECONLAYER_WORKER_QUEUES", "default=0"},
		{"RECONLAYER_SLA_SCORE_INTERVAL", "500ms"},
		{"RECONLAYER_SLA_SCORE_INTERVAL", "48h"},
		{"RECONLAYER_SLA_SCORE_INTERVAL", "every minute"},
		{"RECONLAYER_STATE_GAUGE_INTERVAL", "0s"},
		{"RECONLAYER_STATE_GAUGE_INTERVAL", "2h"},
		{"RECONLAYER_IMPORT_MAX_BYTES", "0"},
		{"RECONLAYER_IMPORT_MAX_BYTES", "50MB"},
		{"RECONLAYER_WEBHOOK_CONCURRENCY", "0"},
		{"RECONLAYER_WEBHOOK_ENDPOINT_CONCURRENCY", "-1"},
		{"RECONLAYER_WEBHOOK_TIMEOUT", "100ms"},
		{"RECONLAYER_WEBHOOK_TIMEOUT", "5m"},
		{"RECONLAYER_WEBHOOK_DISABLE_AFTER", "5 days"},
		{"RECONLAYER_WEBHOOK_DISABLE_AFTER", "10s"},
		{"RECONLAYER_WEBHOOK_ALLOW_INSECURE", "maybe"},
		{"RECONLAYER_WEBHOOK_ALLOW_PRIVATE", "on"},
		{"RECONLAYER_ADMIN_QUEUES", "enabled"},
		{"RECONLAYER_CONSOLE_SECURE_COOKIE", "https"},
		{"RECONLAYER_OVERLOAD_QUEUE_LATENCY", "-1s"},
		{"RECONLAYER_OVERLOAD_QUEUE_LATENCY", "500ms"},
		{"RECONLAYER_OVERLOAD_QUEUE_LATENCY", "48h"},
		{"RECONLAYER_OVERLOAD_QUEUE_LATENCY", "60"},
		{"RECONLAYER_OVERLOAD_QUEUE_LATENCY", "false"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := LoadFrom(env(map[string]string{tc.name: tc.value}))
			var cerr *Error
			require.ErrorAs(t, err, &cerr)
			require.Equal(t, tc.name, cerr.Var)
			require.NotContains(t, err.Error(), "secret", "a password must never appear in an error")
		})
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://u:xxxxx@h:5432/d", Redacted("postgres://u:pw@h:5432/d"))
}

func TestEvidenceWaitAndWorkerQueues(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(env(nil))
	require.NoError(t, err)
	require.Equal(t, 2*time.Second, cfg.EvidenceWait)
	require.Equal(t, map[string]int{"critical": 6, "default": 3, "low": 1}, cfg.WorkerQueues)

	cfg, err = LoadFrom(env(map[string]string{"RECONLAYER_EVIDENCE_WAIT": "0s", "RECONLAYER_WORKER_QUEUES": "critical=1, default=9"}))
	require.NoError(t, err)
	require.Zero(t, cfg.EvidenceWait, "0s answers 202 at once")
	require.Equal(t, map[string]int{"critical": 1, "default": 9}, cfg.WorkerQueues, "a worker may serve some queues only")
}

func TestSLAScoreInterval(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(env(nil))
	require.NoError(t, err)
	require.Equal(t, time.Minute, cfg.SLAScoreInterval)
	cfg, err = LoadFrom(env(map[string]string{"RECONLAYER_SLA_SCORE_INTERVAL": "5m"}))
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, cfg.SLAScoreInterval)
}

func TestWebhookSettings(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(env(nil))
	require.NoError(t, err)
	require.Equal(t, Webhooks{Concurrency: 50, PerEndpoint: 10, Timeout: 10 * time.Second, DisableAfter: 120 * time.Hour}, cfg.Webhooks,
		"defaults: https only, no private addresses")
	cfg, err = LoadFrom(env(map[string]string{
		"RECONLAYER_WEBHOOK_CONCURRENCY": "8", "RECONLAYER_WEBHOOK_ENDPOINT_CONCURRENCY": "2", "RECONLAYER_WEBHOOK_TIMEOUT": "3s",
		"RECONLAYER_WEBHOOK_DISABLE_AFTER": "24h", "RECONLAYER_WEBHOOK_ALLOW_INSECURE": "true", "RECONLAYER_WEBHOOK_ALLOW_PRIVATE": "TRUE",
	}))
	require.NoError(t, err)
	require.Equal(t, Webhooks{Concurrency: 8, PerEndpoint: 2, Timeout: 3 * time.Second, DisableAfter: 24 * time.Hour,
		AllowInsecure: true, AllowPrivate: true}, cfg.Webhooks)
}

func TestOverloadQueueLatency(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFrom(env(nil))
	require.NoError(t, err)
	require.Equal(t, time.Minute, cfg.OverloadQueueLatency)
	for value, want := range map[string]time.Duration{"90s": 90 * time.Second, "1s": time.Second, "0s": 0, "0": 0, "off": 0, " OFF ": 0} {
		cfg, err := LoadFrom(env(map[string]string{"RECONLAYER_OVERLOAD_QUEUE_LATENCY": value}))
		require.NoError(t, err, value)
		require.Equal(t, want, cfg.OverloadQueueLatency, "%q (0: never refuse)", value)
	}
}
