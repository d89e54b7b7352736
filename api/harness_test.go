package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/ratelimit"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/worker"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// testSecret signs session tokens in tests.
var testSecret = []byte("test-session-secret-0123456789abcdef")

// bundle is what a test needs: the router over real Postgres and Redis, and
// ways to make organizations and credentials.
type bundle struct {
	t      testing.TB
	router *gin.Engine
	pool   *pgxpool.Pool
	redis  *redis.Client
	q      *db.Queries
	opts   Options
	logs   *syncBuffer
	waiter *tasks.Waiter // set by withWorker
}

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup builds a router on a fresh database and Redis; tweak adjusts options.
func setup(t testing.TB, tweak ...func(*Options)) *bundle {
	t.Helper()
	rdb, _ := dbtest.Redis(t)
	pool := dbtest.Postgres(t)
	opts := DefaultOptions()
	opts.Session = auth.SessionConfig{HS256Secret: testSecret}
	opts.Usage = auth.NewUsageRecorder(db.New(pool), time.Hour)
	for _, f := range tweak {
		f(&opts)
	}
	logs := &syncBuffer{}
	b := &bundle{t: t, pool: pool, redis: rdb, q: db.New(pool), opts: opts, logs: logs}
	b.router = b.newRouter()
	return b
}

// newRouter builds another api process over the same database and Redis.
func (b *bundle) newRouter() *gin.Engine {
	return NewRouter(Deps{
		Logger: slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Pool:   b.pool, Redis: b.redis, Metrics: metrics.New(), Options: b.opts, Waiter: b.waiter,
	})
}

// withWorker runs beside the router, for the rest of the test, what the api
// and worker processes run: the outcome waiter and a real asynq worker on
// the test's Redis. Evidence POSTs then get the matcher's outcome.
// Its webhook sends follow the api's URL policy unless tweak says otherwise.
func (b *bundle) withWorker(tweak ...func(*worker.Config)) *bundle {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b.waiter = tasks.NewWaiter(b.redis, logger)
	waiterDone := make(chan struct{})
	go func() { b.waiter.Run(ctx); close(waiterDone) }()
	cfg := worker.Config{Concurrency: 4, ShutdownTimeout: 5 * time.Second, Webhooks: worker.DefaultWebhookConfig()}
	cfg.Webhooks.Policy = b.opts.Webhooks
	for _, f := range tweak {
		f(&cfg)
	}
	w := worker.New(cfg, worker.Deps{Logger: logger, Pool: b.pool, Redis: b.redis, Metrics: metrics.New()})
	workerDone := make(chan struct{})
	go func() { _ = w.Run(ctx); close(workerDone) }()
	b.t.Cleanup(func() { cancel(); <-workerDone; <-waiterDone })
	require.Eventually(b.t, b.waiter.Ready, 10*time.Second, 10*time.Millisecond, "outcome channel subscribed")
	b.router = b.newRouter()
	return b
}

func (b *bundle) org(name string) uuid.UUID {
	b.t.Helper()
	o, err := b.q.CreateOrganization(context.Background(), name)
	require.NoError(b.t, err)
	return o.ID
}

// session returns a dashboard session token for user acting for orgs.
func (b *bundle) session(user string, orgs ...uuid.UUID) string {
	b.t.Helper()
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.String()
	}
	tok, err := auth.SignSession(testSecret, user, ids, time.Hour, time.Now())
	require.NoError(b.t, err)
	return tok
}

// apiKey creates a key in org with scopes (every scope when none) and returns it.
func (b *bundle) apiKey(org uuid.UUID, scopes ...string) (string, db.APIKey) {
	b.t.Helper()
	in := apikey.CreateInput{OrganizationID: org, Name: "test key"}
	if len(scopes) > 0 {
		in.Scopes = scopes
	}
	c, err := apikey.New(b.pool).Create(context.Background(), in, nil)
	require.NoError(b.t, err)
	return c.Plaintext, c.Key
}

// req is one HTTP request to the router.
type req struct {
	method, path string
	token        string
	body         string
	headers      map[string]string
}

func (b *bundle) do(r req) *httptest.ResponseRecorder {
	b.t.Helper()
	return serve(b.t, b.router, r)
}

// serve sends r to h and checks the exchange against the contract.
func serve(t testing.TB, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	hr, rec := serveOffContract(t, h, r)
	checkContract(t, hr, []byte(r.body), rec)
	return rec
}

// serveOffContract sends r to h unchecked: for routes that tests mount on
// the router and the contract does not describe.
func serveOffContract(t testing.TB, h http.Handler, r req) (*http.Request, *httptest.ResponseRecorder) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.headers {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	return hr, rec
}

// envelope decodes an error response and checks its status and code.
func envelope(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) Error {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var e Error
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
	require.Equal(t, code, e.Code, rec.Body.String())
	require.NotEmpty(t, e.Message)
	return e
}

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
	return v
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// rawServer is a server over the bundle's services, for mounting test-only routes.
func (b *bundle) rawServer() *server {
	r := &server{logger: slog.New(slog.NewJSONHandler(b.logs, nil)), pool: b.pool, redis: b.redis, opts: b.opts}
	r.auth = auth.NewAuthenticator(b.q, b.opts.Session, b.opts.Usage)
	r.limiter = ratelimit.New(b.redis)
	return r
}

// intent creates a payment intent (and its case) in org through the service.
func (b *bundle) intent(org uuid.UUID, ref string, tweak ...func(*intent.CreateInput)) intent.Result {
	b.t.Helper()
	in := intent.CreateInput{
		OrganizationID: org, Actor: "test", ExternalReference: ref,
		SourceAmount: decimal.RequireFromString("100"), SourceCurrency: "USD",
		DestinationAmount: decimal.RequireFromString("100"), DestinationCurrency: "USDC",
		PaymentType: "stablecoin", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}
	for _, f := range tweak {
		f(&in)
	}
	r, err := intent.New(b.pool).Create(context.Background(), in, nil)
	require.NoError(b.t, err)
	return r
}

// rule creates a reconciliation rule in org through the service.
func (b *bundle) rule(org uuid.UUID, name string, tweak ...func(*rule.Rule)) db.ReconciliationRule {
	b.t.Helper()
	r := rule.Default(rule.PaymentOther)
	r.Name, r.Priority, r.PaymentType = name, 100, nil
	for _, f := range tweak {
		f(&r)
	}
	row, err := ruleset.New(b.pool).Create(context.Background(), org, r, nil)
	require.NoError(b.t, err)
	return row
}

// bulkCases inserts n intents with their open cases and one audit event
// each, in one statement (creating them one by one through the API would
// make large-volume tests and benchmarks slow for the wrong reason). Case i
// is created i seconds before now.
func (b *bundle) bulkCases(org uuid.UUID, n int) {
	b.t.Helper()
	// What real cases carry: the rule snapshot a case keeps, and intent
	// references and metadata, so reads and exports pay for them as they would.
	snapshot, err := json.Marshal(rule.Default(rule.PaymentStablecoin))
	require.NoError(b.t, err)
	_, err = b.pool.Exec(context.Background(), `
WITH snap AS (
    INSERT INTO rule_snapshots (organization_id, digest, snapshot)
    VALUES ($1, sha256(convert_to($3::text, 'UTF8')), $3::jsonb)
    ON CONFLICT (organization_id, digest) DO UPDATE SET digest = excluded.digest
    RETURNING id
), pi AS (
    INSERT INTO payment_intents (organization_id, external_reference, source_amount, source_currency,
        destination_amount, destination_currency, payment_type, direction, beneficiary_name,
        "references", metadata, created_at, updated_at)
    SELECT $1, 'bulk-' || g, 100 + g % 1000, 'USD', 100 + g % 1000, 'USDC', 'stablecoin', 'debit',
        'Beneficiary ' || g, jsonb_build_array(jsonb_build_object('type', 'invoice', 'value', 'INV-' || g)),
        jsonb_build_object('customer', 'cus_' || g, 'channel', 'api'),
        now() - g * interval '1 second', now() - g * interval '1 second'
    FROM generate_series(1, $2::int) g
    RETURNING id, organization_id, destination_amount, created_at
), c AS (
    INSERT INTO reconciliation_cases (organization_id, payment_intent_id, expected_amount, expected_currency,
        required_legs_total, coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_snapshot_id,
        created_at, updated_at)
    SELECT organization_id, id, destination_amount, 'USDC', 2, 'missing', 'missing', 'not_required', 'not_required',
        (SELECT id FROM snap), created_at, created_at
    FROM pi
    RETURNING id, organization_id, payment_intent_id
)
INSERT INTO audit_events (organization_id, payment_intent_id, case_id, event_type, actor, message)
SELECT organization_id, payment_intent_id, id, 'payment_intent.created', 'bulk', 'Payment intent created.' FROM c`,
		org, n, snapshot)
	require.NoError(b.t, err)
}

// evidence stores evidence from source in org through the api's service and
// runs the matcher on it at once (no queue), returning what became of it.
func (b *bundle) evidence(org uuid.UUID, source, body string) evidence.Outcome {
	b.t.Helper()
	return b.evidenceWith(matcher.New(b.pool), org, source, body)
}

// evidenceWith is evidence matched by m (a matcher on a test clock).
func (b *bundle) evidenceWith(m *matcher.Service, org uuid.UUID, source, body string) evidence.Outcome {
	b.t.Helper()
	ctx := context.Background()
	var ref string
	switch source {
	case evidence.SourceProvider:
		var p evidence.Provider
		require.NoError(b.t, json.Unmarshal([]byte(body), &p))
		ref = p.SourceRef()
	case evidence.SourceOnchain:
		var o evidence.Onchain
		require.NoError(b.t, json.Unmarshal([]byte(body), &o))
		ref = o.SourceRef()
	default:
		var bk evidence.Bank
		require.NoError(b.t, json.Unmarshal([]byte(body), &bk))
		ref = bk.SourceRef()
	}
	r, err := evidence.New(b.pool).Accept(ctx, evidence.Submission{OrganizationID: org, Source: source, SourceRef: ref, Payload: []byte(body)}, nil)
	require.NoError(b.t, err)
	if r.Duplicate {
		return r.Outcome
	}
	out, err := m.Process(ctx, org, r.Raw.ID, r.Job.ID)
	require.NoError(b.t, err)
	return out
}
