// Package api is the HTTP front of ReconLayer: it authenticates, validates,
// writes the durable record through the services in internal/, enqueues work
// and answers. It never runs the matcher and never builds SQL.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/console"
	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/ratelimit"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// Deps is what the router needs from the process.
type Deps struct {
	Logger  *slog.Logger
	Pool    *pgxpool.Pool
	Redis   redis.UniversalClient
	Metrics *metrics.Registry
	// Waiter carries worker outcomes back to waiting requests; the process
	// runs it (nil: requests do not wait for the matcher).
	Waiter  *tasks.Waiter
	Options Options
}

// Options tunes the API contract.
type Options struct {
	Session            auth.SessionConfig
	Usage              *auth.UsageRecorder // batches lastUsedAt; nil disables it
	RateLimitPerMinute int                 // default budget per organization (or client IP)
	MaxJSONBodyBytes   int64               // default body limit of JSON routes
	IdempotencyLease   time.Duration       // a crashed owner's claim is released after this
	IdempotencyTTL     time.Duration       // stored responses are replayed for this long
	EvidenceWait       time.Duration       // how long evidence POSTs wait for the matcher by default
	EnqueueTimeout     time.Duration       // past this, an enqueue is left to the outbox sweeper
	MaxImportBytes     int64               // largest file an import batch takes
	Webhooks           egress.Policy       // which endpoint URLs are accepted
	WebhookTimeout     time.Duration       // one webhook attempt (bounds its task)
	AdminQueues        bool                // serve asynq's web UI at /admin/queues (dashboard sessions only)
	Console            console.Options     // the web console at /console
	// OverloadQueueLatency refuses evidence writes (503 overloaded) while
	// the match queue's oldest pending task is older than this. 0 disables
	// it, so it is the one setting NewRouter does not default.
	OverloadQueueLatency time.Duration
}

// DefaultOptions are the documented defaults (DESIGN §3).
func DefaultOptions() Options {
	return Options{
		RateLimitPerMinute: 300,
		MaxJSONBodyBytes:   1 << 20,
		IdempotencyLease:   60 * time.Second,
		IdempotencyTTL:     24 * time.Hour,
		EvidenceWait:       2 * time.Second,
		EnqueueTimeout:     time.Second,
		WebhookTimeout:     10 * time.Second,
		MaxImportBytes:     50 << 20,
		// A minute behind is far past the 2 s evidence wait: nobody gets an
		// outcome in time any more, and Redis keeps growing.
		OverloadQueueLatency: time.Minute,
	}
}

type server struct {
	logger        *slog.Logger
	pool          *pgxpool.Pool
	redis         redis.UniversalClient
	opts          Options
	auth          *auth.Authenticator
	limiter       *ratelimit.Limiter
	idem          *idempotency.Store
	apiKeys       *apikey.Service
	intents       *intent.Service
	rules         *ruleset.Service
	cases         *cases.Service
	matcher       *matcher.Service
	evidence      *evidence.Service
	enqueuer      *tasks.Enqueuer
	waiter        *tasks.Waiter
	evidenceCount *prometheus.CounterVec
	webhooks      *webhook.Service
	imports       *importer.Service
	ledgers       *ledger.Service
	expected      *expected.Service
	backlog       *backlog // nil: evidence writes are never refused for load
}

// NewRouter builds the gin engine with every route and middleware.
func NewRouter(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	o, def := d.Options, DefaultOptions()
	if o.RateLimitPerMinute == 0 {
		o.RateLimitPerMinute = def.RateLimitPerMinute
	}
	if o.MaxJSONBodyBytes == 0 {
		o.MaxJSONBodyBytes = def.MaxJSONBodyBytes
	}
	if o.IdempotencyLease == 0 {
		o.IdempotencyLease = def.IdempotencyLease
	}
	if o.IdempotencyTTL == 0 {
		o.IdempotencyTTL = def.IdempotencyTTL
	}
	if o.EnqueueTimeout == 0 {
		o.EnqueueTimeout = def.EnqueueTimeout
	}
	if o.MaxImportBytes == 0 {
		o.MaxImportBytes = def.MaxImportBytes
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = def.WebhookTimeout
	}
	waiter := d.Waiter
	if waiter == nil {
		waiter = tasks.NewWaiter(d.Redis, d.Logger) // never run: never ready
	}
	match := matcher.New(d.Pool)
	client := asynq.NewClientFromRedisClient(d.Redis)
	s := &server{
		logger: d.Logger, pool: d.Pool, redis: d.Redis, opts: o,
		auth:          auth.NewAuthenticator(db.New(d.Pool), o.Session, o.Usage),
		limiter:       ratelimit.New(d.Redis),
		idem:          idempotency.NewStore(d.Pool, o.IdempotencyLease, o.IdempotencyTTL),
		apiKeys:       apikey.New(d.Pool),
		intents:       intent.New(d.Pool),
		rules:         ruleset.New(d.Pool),
		cases:         cases.New(d.Pool, match),
		matcher:       match,
		evidence:      evidence.New(d.Pool),
		enqueuer:      tasks.NewEnqueuer(client),
		waiter:        waiter,
		evidenceCount: d.Metrics.Evidence,
		webhooks:      webhook.NewService(d.Pool, webhook.NewEnqueuer(client, o.WebhookTimeout), d.Logger),
		imports:       importer.New(d.Pool, d.Logger),
		ledgers:       ledger.New(d.Pool),
		expected:      expected.New(d.Pool),
	}
	if o.OverloadQueueLatency > 0 {
		s.backlog = newBacklog(d.Redis, tasks.QueueMatch, d.Logger)
	}

	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// ClientIP must not trust X-Forwarded-For from anyone: it keys rate limits.
	_ = r.SetTrustedProxies(nil)
	r.Use(requestID(), accessLog(d.Logger), instrument(d.Metrics.HTTP), recovery(d.Logger))

	// Unknown /v1 paths are still rate-limited and carry the headers.
	v1Only := func(h gin.HandlerFunc) gin.HandlerFunc {
		return func(c *gin.Context) {
			if isV1(c.Request.URL.Path) {
				h(c)
			}
		}
	}
	// The web console answers HTML, its misses included: a person's browser
	// gets a page, not the JSON envelope.
	cons := console.Mount(r, console.Deps{Logger: d.Logger, Pool: d.Pool, Redis: d.Redis, Options: o.Console,
		Authenticator: s.auth, Webhooks: s.webhooks, WebhookPolicy: o.Webhooks})
	r.NoRoute(v1Only(s.authenticate), v1Only(s.rateLimit), func(c *gin.Context) {
		if console.Owns(c.Request.URL.Path) {
			cons.NotFound(c)
			return
		}
		abort(c, NewError(http.StatusNotFound, CodeNotFound, "No route %s %s.", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(v1Only(s.authenticate), v1Only(s.rateLimit), func(c *gin.Context) {
		if console.Owns(c.Request.URL.Path) {
			cons.MethodNotAllowed(c)
			return
		}
		abort(c, NewError(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"Method %s is not allowed on %s.", c.Request.Method, c.Request.URL.Path))
	})

	r.GET("/health", s.health)
	r.GET("/ready", s.ready)
	r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	r.GET("/openapi.json", s.openAPIJSON)
	r.GET("/openapi.yaml", s.openAPIYAML)
	r.GET("/docs", s.docs)
	r.GET("/docs/assets/:name", s.docsAsset)

	v1 := r.Group("/v1", s.authenticate, s.rateLimit, s.requireAuth)

	keys := v1.Group("/api-keys", requireSession)
	keys.POST("", s.idempotent, s.createAPIKey)
	keys.GET("", s.listAPIKeys)
	keys.GET("/:id", byID("API key", s.apiKeys.Get, renderAPIKey))
	keys.PATCH("/:id", s.updateAPIKey)
	keys.DELETE("/:id", byID("API key", s.revokeAPIKey, renderAPIKey))

	hooks := v1.Group("/webhook-endpoints", requireSession)
	hooks.POST("", s.idempotent, s.createWebhookEndpoint)
	hooks.GET("", s.listWebhookEndpoints)
	hooks.GET("/:id", byID("Webhook endpoint", s.webhooks.Get, renderWebhookEndpoint))
	hooks.PATCH("/:id", s.updateWebhookEndpoint)
	hooks.DELETE("/:id", byID("Webhook endpoint", s.webhooks.Delete, renderWebhookEndpoint))
	// A rotation's replay leaves the new secret out; a test sends a ping
	// (202 with its delivery, whose attempts show how it went).
	hooks.POST("/:id/rotate-secret", s.idempotent,
		idAction(s, "Webhook endpoint", http.StatusOK, s.webhooks.RotateSecret, renderWithSecret, renderWithoutSecret))
	hooks.POST("/:id/test", s.idempotent, idAction(s, "Webhook endpoint", http.StatusAccepted, s.webhooks.Test, renderDeliveryAny, nil))
	hooks.GET("/:id/deliveries", s.listWebhookDeliveries)
	deliveries := v1.Group("/webhook-deliveries", requireSession)
	deliveries.GET("/:id", byID("Webhook delivery", s.webhooks.GetDelivery, renderWebhookDelivery))
	// One more attempt now; 202 with the delivery as it stands.
	deliveries.POST("/:id/retry", s.idempotent, idAction(s, "Webhook delivery", http.StatusAccepted, s.webhooks.Retry, renderDeliveryAny, nil))

	intents := v1.Group("/payment-intents")
	intents.POST("", requireScope("payment_intents:write"), s.idempotent, s.createIntent)
	intents.GET("", requireScope("payment_intents:read"), s.listIntents)
	intents.GET("/:id", requireScope("payment_intents:read"), s.getIntent)

	caseRead, caseWrite := requireScope("reconciliation_cases:read"), requireScope("reconciliation_cases:write")
	rules := v1.Group("/reconciliation-rules")
	rules.POST("", caseWrite, s.idempotent, s.createRule)
	rules.GET("", caseRead, s.listRules)
	rules.GET("/:id", caseRead, byID("Reconciliation rule", s.rules.Get, renderRule))
	rules.PATCH("/:id", caseWrite, s.updateRule)
	rules.DELETE("/:id", caseWrite, byID("Reconciliation rule", s.rules.Delete, renderRule))

	cs := v1.Group("/reconciliation-cases")
	cs.GET("", caseRead, s.listCases)
	cs.GET("/:id", caseRead, byID("Reconciliation case", s.cases.Get, resource.CaseOf))
	cs.POST("/:id/notes", caseWrite, s.idempotent, s.addCaseNote)
	cs.POST("/:id/resolve", caseWrite, s.idempotent, s.statusAction((*cases.Service).Resolve))
	cs.POST("/:id/reopen", caseWrite, s.idempotent, s.statusAction((*cases.Service).Reopen))
	cs.POST("/:id/archive", caseWrite, s.idempotent, s.statusAction((*cases.Service).Archive))
	cs.POST("/:id/rerun", caseWrite, s.idempotent, s.rerunCase)
	cs.POST("/:id/links", caseWrite, s.idempotent, s.linkLeg)
	cs.DELETE("/:id/links/:linkId", caseWrite, s.unlinkLeg)
	v1.GET("/dashboard/overview", caseRead, s.dashboardOverview)

	ev := v1.Group("/evidence")
	evWrite := requireScope("evidence:write")
	// Overload is checked before the idempotency claim: a refused write
	// stores nothing and its retry with the same key runs afresh.
	ev.POST("/provider", evWrite, s.admitEvidence, s.idempotent, submitEvidence[providerRequest](s, evidence.SourceProvider))
	ev.POST("/onchain", evWrite, s.admitEvidence, s.idempotent, submitEvidence[onchainRequest](s, evidence.SourceOnchain))
	ev.POST("/bank", evWrite, s.admitEvidence, s.idempotent, submitEvidence[bankRequest](s, evidence.SourceBank))
	evRead := requireAnyScope("evidence:write", "reconciliation_cases:read")
	ev.GET("", evRead, s.listEvidence)
	ev.GET("/:id", evRead, s.getEvidence)

	importRead, importWrite := requireScope("imports:read"), requireScope("imports:write")
	profiles := v1.Group("/import-profiles")
	profiles.POST("", importWrite, s.idempotent, s.createImportProfile)
	profiles.GET("", importRead, s.listImportProfiles)
	profiles.GET("/:id", importRead, byID("Import profile", s.imports.GetProfile, renderImportProfile))
	profiles.PATCH("/:id", importWrite, s.updateImportProfile)
	profiles.DELETE("/:id", importWrite, byID("Import profile", s.imports.DeleteProfile, renderImportProfile))
	batches := v1.Group("/import-batches")
	// The file may be sent as base64 in JSON: room for that and the form.
	batches.POST("", importWrite, bodyLimit((o.MaxImportBytes/3+1)*4+(1<<20)), s.idempotent, s.createImportBatch)
	batches.GET("", importRead, s.listImportBatches)
	batches.GET("/:id", importRead, byID("Import batch", s.imports.GetBatch, resource.RenderImportBatch))
	batches.GET("/:id/raw-records", importRead, s.listImportRows)
	s.routeLedgers(v1)
	s.routeExpected(v1)

	v1.GET("/audit-events", requireSession, s.listAuditEvents)
	v1.GET("/exports/reconciliation-cases", requireScope("exports:read"), s.exportCases)
	if o.AdminQueues {
		s.routeAdmin(r)
	}
	return r
}
