// Package config reads the process configuration from environment variables.
//
// Every setting has a local default that matches what deploy/local/services.sh
// starts, so `reconlayer all` works on a developer machine with no variables set.
// A bad value is reported as an error that names the variable, never a panic.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults for local use; they point at the services deploy/local/services.sh starts.
const (
	DefaultDatabaseURL = "postgres://reconlayer:reconlayer@127.0.0.1:5432/reconlayer?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultHTTPAddr    = ":3001"
	DefaultMetricsAddr = ":3002"
)

// Config is everything a reconlayer process reads from its environment.
type Config struct {
	DatabaseURL string // DATABASE_URL
	RedisURL    string // REDIS_URL
	HTTPAddr    string // RECONLAYER_HTTP_ADDR: the api listener
	// MetricsAddr is where worker and scheduler processes serve /metrics and
	// /health (RECONLAYER_METRICS_ADDR); "off" disables it. The api serves
	// /metrics on HTTPAddr.
	MetricsAddr       string
	WorkerConcurrency int           // RECONLAYER_WORKER_CONCURRENCY
	ShutdownTimeout   time.Duration // RECONLAYER_SHUTDOWN_TIMEOUT: drain time for api and worker
	LogLevel          slog.Level    // RECONLAYER_LOG_LEVEL: debug|info|warn|error
	DatabaseMaxConns  int32         // RECONLAYER_DATABASE_MAX_CONNS

	// Dashboard sessions: an HS256 secret for local use and/or a JWKS URL.
	SessionSecret string // RECONLAYER_SESSION_SECRET (at least 32 bytes)
	JWKSURL       string // RECONLAYER_JWKS_URL
	JWTIssuer     string // RECONLAYER_JWT_ISSUER: required iss claim, when set
	JWTAudience   string // RECONLAYER_JWT_AUDIENCE: required aud claim, when set

	RateLimitPerMinute int           // RECONLAYER_RATE_LIMIT_PER_MINUTE: default budget per organization
	MaxJSONBodyBytes   int64         // RECONLAYER_MAX_JSON_BODY_BYTES
	IdempotencyLease   time.Duration // RECONLAYER_IDEMPOTENCY_LEASE
	// EvidenceWait is how long evidence POSTs wait for the matcher's
	// outcome by default (RECONLAYER_EVIDENCE_WAIT; 0 answers 202 at once).
	EvidenceWait time.Duration
	// WorkerQueues are the queues a worker serves and their weights
	// (RECONLAYER_WORKER_QUEUES, e.g. "critical=6,default=3,low=1").
	WorkerQueues map[string]int
	// SLAScoreInterval is how often the scheduler has SLA risk and delays
	// scored (RECONLAYER_SLA_SCORE_INTERVAL).
	SLAScoreInterval time.Duration
	// StateGaugeInterval is how often the scheduler recounts the cases,
	// runs and endpoints behind the state gauges of /metrics
	// (RECONLAYER_STATE_GAUGE_INTERVAL).
	StateGaugeInterval time.Duration
	Webhooks           Webhooks
	// MaxImportBytes is the largest file an import batch takes
	// (RECONLAYER_IMPORT_MAX_BYTES).
	MaxImportBytes int64
	// AdminQueues serves asynq's web UI at /admin/queues on the api, to
	// dashboard sessions only (RECONLAYER_ADMIN_QUEUES).
	AdminQueues bool
	// ConsoleSecureCookie marks the web console's cookies Secure even on
	// plain HTTP, for a server behind a TLS-terminating proxy
	// (RECONLAYER_CONSOLE_SECURE_COOKIE). Requests over TLS get Secure
	// cookies anyway.
	ConsoleSecureCookie bool
	// OverloadQueueLatency is how far behind the match queue may fall
	// before the api refuses evidence writes with 503 overloaded
	// (RECONLAYER_OVERLOAD_QUEUE_LATENCY; 0s or off: never).
	OverloadQueueLatency time.Duration
}

// Webhooks tunes outbound webhooks.
type Webhooks struct {
	Concurrency  int           // RECONLAYER_WEBHOOK_CONCURRENCY: sends under way per worker process
	PerEndpoint  int           // RECONLAYER_WEBHOOK_ENDPOINT_CONCURRENCY: of which to one endpoint
	Timeout      time.Duration // RECONLAYER_WEBHOOK_TIMEOUT: one attempt
	DisableAfter time.Duration // RECONLAYER_WEBHOOK_DISABLE_AFTER: continuous failure that disables an endpoint
	// RECONLAYER_WEBHOOK_ALLOW_INSECURE: http:// endpoint URLs accepted.
	AllowInsecure bool
	// RECONLAYER_WEBHOOK_ALLOW_PRIVATE: endpoints may resolve to loopback,
	// private, link-local or metadata addresses (local development only).
	AllowPrivate bool
}

// Error is a configuration problem tied to one variable.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Load reads the configuration from the process environment.
func Load() (Config, error) { return LoadFrom(os.Getenv) }

// LoadFrom reads the configuration through getenv, so tests need not touch
// the process environment.
func LoadFrom(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		DatabaseURL: get("DATABASE_URL", DefaultDatabaseURL),
		RedisURL:    get("REDIS_URL", DefaultRedisURL),
		HTTPAddr:    get("RECONLAYER_HTTP_ADDR", DefaultHTTPAddr),
		MetricsAddr: get("RECONLAYER_METRICS_ADDR", DefaultMetricsAddr),
	}
	if cfg.MetricsAddr == "off" {
		cfg.MetricsAddr = ""
	}

	if err := checkURL("DATABASE_URL", cfg.DatabaseURL, "postgres", "postgresql"); err != nil {
		return Config{}, err
	}
	if err := checkURL("REDIS_URL", cfg.RedisURL, "redis", "rediss"); err != nil {
		return Config{}, err
	}
	if err := checkAddr("RECONLAYER_HTTP_ADDR", cfg.HTTPAddr); err != nil {
		return Config{}, err
	}
	if cfg.MetricsAddr != "" {
		if err := checkAddr("RECONLAYER_METRICS_ADDR", cfg.MetricsAddr); err != nil {
			return Config{}, err
		}
	}

	var err error
	if cfg.WorkerConcurrency, err = positiveInt("RECONLAYER_WORKER_CONCURRENCY", get("RECONLAYER_WORKER_CONCURRENCY", "64"), 1000); err != nil {
		return Config{}, err
	}
	maxConns, err := positiveInt("RECONLAYER_DATABASE_MAX_CONNS", get("RECONLAYER_DATABASE_MAX_CONNS", "20"), 1000)
	if err != nil {
		return Config{}, err
	}
	cfg.DatabaseMaxConns = int32(maxConns)

	timeout := get("RECONLAYER_SHUTDOWN_TIMEOUT", "30s")
	if cfg.ShutdownTimeout, err = time.ParseDuration(timeout); err != nil || cfg.ShutdownTimeout <= 0 {
		return Config{}, &Error{"RECONLAYER_SHUTDOWN_TIMEOUT", fmt.Sprintf("%q is not a positive duration (e.g. 30s)", timeout)}
	}

	cfg.SessionSecret = getenv("RECONLAYER_SESSION_SECRET")
	if cfg.SessionSecret != "" && len(cfg.SessionSecret) < 32 {
		return Config{}, &Error{"RECONLAYER_SESSION_SECRET", "must be at least 32 bytes (try: openssl rand -base64 32)"}
	}
	cfg.JWKSURL = get("RECONLAYER_JWKS_URL", "")
	if cfg.JWKSURL != "" {
		if err := checkURL("RECONLAYER_JWKS_URL", cfg.JWKSURL, "https", "http"); err != nil {
			return Config{}, err
		}
	}
	cfg.JWTIssuer = get("RECONLAYER_JWT_ISSUER", "")
	cfg.JWTAudience = get("RECONLAYER_JWT_AUDIENCE", "")
	if cfg.RateLimitPerMinute, err = positiveInt("RECONLAYER_RATE_LIMIT_PER_MINUTE", get("RECONLAYER_RATE_LIMIT_PER_MINUTE", "300"), 10_000_000); err != nil {
		return Config{}, err
	}
	maxBody, err := positiveInt("RECONLAYER_MAX_JSON_BODY_BYTES", get("RECONLAYER_MAX_JSON_BODY_BYTES", "1048576"), 1<<30)
	if err != nil {
		return Config{}, err
	}
	cfg.MaxJSONBodyBytes = int64(maxBody)
	lease := get("RECONLAYER_IDEMPOTENCY_LEASE", "60s")
	if cfg.IdempotencyLease, err = time.ParseDuration(lease); err != nil || cfg.IdempotencyLease < time.Second {
		return Config{}, &Error{"RECONLAYER_IDEMPOTENCY_LEASE", fmt.Sprintf("%q is not a duration of at least 1s", lease)}
	}

	wait := get("RECONLAYER_EVIDENCE_WAIT", "2s")
	if cfg.EvidenceWait, err = time.ParseDuration(wait); err != nil || cfg.EvidenceWait < 0 || cfg.EvidenceWait > 30*time.Second {
		return Config{}, &Error{"RECONLAYER_EVIDENCE_WAIT", fmt.Sprintf("%q is not a duration from 0s to 30s", wait)}
	}
	every := get("RECONLAYER_SLA_SCORE_INTERVAL", "1m")
	if cfg.SLAScoreInterval, err = time.ParseDuration(every); err != nil || cfg.SLAScoreInterval < time.Second || cfg.SLAScoreInterval > 24*time.Hour {
		return Config{}, &Error{"RECONLAYER_SLA_SCORE_INTERVAL", fmt.Sprintf("%q is not a duration from 1s to 24h", every)}
	}
	gauges := get("RECONLAYER_STATE_GAUGE_INTERVAL", "30s")
	if cfg.StateGaugeInterval, err = time.ParseDuration(gauges); err != nil || cfg.StateGaugeInterval < time.Second || cfg.StateGaugeInterval > time.Hour {
		return Config{}, &Error{"RECONLAYER_STATE_GAUGE_INTERVAL", fmt.Sprintf("%q is not a duration from 1s to 1h", gauges)}
	}
	maxImport, err := positiveInt("RECONLAYER_IMPORT_MAX_BYTES", get("RECONLAYER_IMPORT_MAX_BYTES", "52428800"), 1<<30)
	if err != nil {
		return Config{}, err
	}
	cfg.MaxImportBytes = int64(maxImport)
	if cfg.AdminQueues, err = boolean("RECONLAYER_ADMIN_QUEUES", get("RECONLAYER_ADMIN_QUEUES", "false")); err != nil {
		return Config{}, err
	}
	if cfg.ConsoleSecureCookie, err = boolean("RECONLAYER_CONSOLE_SECURE_COOKIE", get("RECONLAYER_CONSOLE_SECURE_COOKIE", "false")); err != nil {
		return Config{}, err
	}
	if cfg.OverloadQueueLatency, err = overloadLatency(get("RECONLAYER_OVERLOAD_QUEUE_LATENCY", "60s")); err != nil {
		return Config{}, err
	}
	if cfg.Webhooks, err = webhooks(get); err != nil {
		return Config{}, err
	}
	if cfg.WorkerQueues, err = queues(get("RECONLAYER_WORKER_QUEUES", "critical=6,default=3,low=1")); err != nil {
		return Config{}, err
	}

	level := get("RECONLAYER_LOG_LEVEL", "info")
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return Config{}, &Error{"RECONLAYER_LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", level)}
	}
	return cfg, nil
}

func webhooks(get func(name, def string) string) (Webhooks, error) {
	var w Webhooks
	var err error
	if w.Concurrency, err = positiveInt("RECONLAYER_WEBHOOK_CONCURRENCY", get("RECONLAYER_WEBHOOK_CONCURRENCY", "50"), 1000); err != nil {
		return w, err
	}
	if w.PerEndpoint, err = positiveInt("RECONLAYER_WEBHOOK_ENDPOINT_CONCURRENCY", get("RECONLAYER_WEBHOOK_ENDPOINT_CONCURRENCY", "10"), 1000); err != nil {
		return w, err
	}
	if w.Timeout, err = duration("RECONLAYER_WEBHOOK_TIMEOUT", get("RECONLAYER_WEBHOOK_TIMEOUT", "10s"), time.Second, time.Minute); err != nil {
		return w, err
	}
	if w.DisableAfter, err = duration("RECONLAYER_WEBHOOK_DISABLE_AFTER", get("RECONLAYER_WEBHOOK_DISABLE_AFTER", "120h"), time.Minute, 90*24*time.Hour); err != nil {
		return w, err
	}
	if w.AllowInsecure, err = boolean("RECONLAYER_WEBHOOK_ALLOW_INSECURE", get("RECONLAYER_WEBHOOK_ALLOW_INSECURE", "false")); err != nil {
		return w, err
	}
	if w.AllowPrivate, err = boolean("RECONLAYER_WEBHOOK_ALLOW_PRIVATE", get("RECONLAYER_WEBHOOK_ALLOW_PRIVATE", "false")); err != nil {
		return w, err
	}
	return w, nil
}

func duration(name, raw string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil || d < lo || d > hi {
		return 0, &Error{name, fmt.Sprintf("%q is not a duration from %s to %s", raw, lo, hi)}
	}
	return d, nil
}

// overloadLatency is a duration from 1s (the api reads the queue's latency
// once a second) to 24h, or 0s / off to never refuse.
func overloadLatency(raw string) (time.Duration, error) {
	if strings.EqualFold(raw, "off") {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || (d != 0 && (d < time.Second || d > 24*time.Hour)) {
		return 0, &Error{"RECONLAYER_OVERLOAD_QUEUE_LATENCY", fmt.Sprintf("%q is not a duration from 1s to 24h, or 0s or off to disable", raw)}
	}
	return d, nil
}

func boolean(name, raw string) (bool, error) {
	switch strings.ToLower(raw) {
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	}
	return false, &Error{name, fmt.Sprintf("%q is not true or false", raw)}
}

func checkURL(name, raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, which may hold a password.
		return &Error{name, "not a valid URL"}
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return &Error{name, fmt.Sprintf("scheme must be %s, got %q", strings.Join(schemes, " or "), u.Scheme)}
	}
	if u.Host == "" {
		return &Error{name, "URL has no host"}
	}
	return nil
}

func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &Error{name, fmt.Sprintf("%q is not host:port (e.g. :3001)", addr)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &Error{name, fmt.Sprintf("%q has no valid port", addr)}
	}
	return nil
}

// queues parses name=weight pairs. Every task queue must be served by some
// worker; a worker that serves only some of them is how a deployment
// dedicates processes to urgent work.
func queues(raw string) (map[string]int, error) {
	const name = "RECONLAYER_WORKER_QUEUES"
	out := map[string]int{}
	for _, part := range strings.Split(raw, ",") {
		q, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 1 || n > 100 || (q != "critical" && q != "default" && q != "low") {
			return nil, &Error{name, fmt.Sprintf("%q is not a list of queue=weight pairs (queues critical, default, low; weights 1 to 100)", raw)}
		}
		out[q] = n
	}
	return out, nil
}

func positiveInt(name, raw string, upper int) (int, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > upper {
		return 0, &Error{name, fmt.Sprintf("%q is not a whole number from 1 to %d", raw, upper)}
	}
	return n, nil
}

// Redacted returns u with any password replaced, for log lines and errors.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
