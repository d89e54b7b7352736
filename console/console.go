// Package console is ReconLayer's web console: server-rendered HTML pages
// under /console for people (sign-in, overview, and the page groups added
// after them), a front-end like api/. It turns HTTP into calls to the
// services in internal/ and their results into pages; it never builds SQL,
// and the services never see gin. Templates (templates/*.html) and the one
// stylesheet (static/console.css) are embedded in the binary: a page
// fetches nothing from another origin and runs no JavaScript, so every
// control is a plain link or form, usable from the keyboard by construction.
//
// # Requests
//
// Mount adds the routes to the api's gin engine (api.NewRouter), behind
// the engine's request id, access log, metrics and panic recovery, but not
// the api's authentication, rate limit or JSON error envelope: every
// console answer is an HTML page, errors included (errorPage). Every
// response carries the headers of securityHeaders (no caching, no framing,
// a Content-Security-Policy of 'self' without inline scripts or styles).
//
// A signed-in request carries the reconlayer_console cookie, a session
// token of internal/consoleauth. The signed-in group resolves it
// (loadSession), sends the browser to /console/login?next=… without one
// (requireSession), and to the "choose a new password" page while the
// user's password is a one-time one (requirePasswordChosen). Every POST of
// the group passes guardForm first: the body is bounded, the request must
// be same-origin (net/http.CrossOriginProtection) and its csrf_token field
// must equal the session's synchronizer token; otherwise it is refused
// with a 403 page and nothing runs. No GET changes anything.
//
// # Adding a page group
//
// A page group (Cases, Imports, Ledger runs, …) is one file, say cases.go,
// and its templates:
//
//  1. Routes: a method `func (s *Console) routeCases(g *gin.RouterGroup)`
//     adding its routes to the signed-in group g (paths relative to
//     /console: g.GET("/cases", s.listCases)), called from Console.routes.
//     Need services? Build them in Mount from Deps and keep them on Console.
//  2. Navigation: an entry in nav (nav.go), in the order the header lists
//     them; Section names it, and a page passes the same Section in its
//     view so that the entry is marked aria-current.
//  3. Template: templates/cases.html defining "content" (and nothing
//     else global); render(c, status, "cases.html", view{…}) executes it
//     inside layout.html. Every <form method="post"> includes
//     {{template "csrf" $}} (the hidden csrf_token field; $ because . may
//     have moved inside range/with); requireCSRFInEveryForm (tests)
//     checks a rendered page for it.
//  4. Who is asking: principal(c) is the request's auth.Principal (a
//     dashboard session of the user's organization with every scope), to
//     pass to the services as the api's session routes do; session(c) is
//     the consoleauth.Session (email, organization name); audit actor
//     strings are session(c).Actor() ("user:<uuid>").
//  5. Errors: s.fail(c, err) renders the 404 page for the services' "not
//     found" errors (list them in notFoundErrors; a resource of another
//     organization is not found, as in the api), the 503 page when
//     Postgres is away and the 500 page (details only in the log) for the
//     rest. A page's own 400 re-renders its form with a message.
//  6. POSTs answer 303 See Other to a page (post/redirect/get). Forms that
//     upload files need a bigger body than maxFormBytes: list the route in
//     formLimits.
//  7. Tests: console_test.go's setup and signIn give a signed-in client
//     against the whole api router; check cross-organization reads (404)
//     and CSRF-less posts (403, nothing changed) for each new form.
package console

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/ratelimit"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// Prefix is where the console lives.
const Prefix = "/console"

// Owns tells whether path belongs to the console, whose unknown paths get
// HTML error pages rather than the api's JSON envelope.
func Owns(path string) bool { return path == Prefix || strings.HasPrefix(path, Prefix+"/") }

// Deps is what the console needs from the process: the api's pool, Redis
// (the sign-in throttle) and logger.
type Deps struct {
	Logger  *slog.Logger
	Pool    *pgxpool.Pool
	Redis   redis.UniversalClient
	Options Options

	// The Developers pages use the api's authenticator (a key revoked
	// there stops working here at once), its webhook endpoint service and
	// the URL policy its endpoints are held to.
	Authenticator *auth.Authenticator
	Webhooks      *webhook.Service
	WebhookPolicy egress.Policy
}

// Options tune the console.
type Options struct {
	// SecureCookie marks the cookies Secure even when the request came over
	// plain HTTP, for a server behind a TLS-terminating proxy
	// (RECONLAYER_CONSOLE_SECURE_COOKIE). Requests over TLS get Secure
	// cookies anyway.
	SecureCookie bool
	// Auth tunes sessions and password hashes; zero values are
	// consoleauth's defaults (12 h absolute, 2 h idle, argon2id 19 MiB).
	// Mount sets its Limiter and Logger.
	Auth consoleauth.Options
}

// Console serves the pages; Mount makes one.
type Console struct {
	logger *slog.Logger
	opts   Options
	pages  map[string]*template.Template
	origin *http.CrossOriginProtection

	auth     *consoleauth.Service
	cases    *cases.Service
	imports  *importer.Service
	links    *matcher.Service // manual link and unlink of a case's evidence
	ledgers  *ledger.Service
	expected *expected.Service
	enqueuer *tasks.Enqueuer // an upload's parse task, at once (the outbox has it anyway)
	dev      developers
}

// Mount adds the console's routes to r and returns the console, whose
// NotFound and MethodNotAllowed the engine's NoRoute and NoMethod handlers
// call for paths Owns.
func Mount(r *gin.Engine, d Deps) *Console {
	authOpts := d.Options.Auth
	authOpts.Limiter = ratelimit.New(d.Redis)
	authOpts.Logger = d.Logger
	s := &Console{
		logger:   d.Logger,
		opts:     d.Options,
		pages:    mustParseTemplates(),
		origin:   http.NewCrossOriginProtection(),
		auth:     consoleauth.New(d.Pool, authOpts),
		cases:    cases.New(d.Pool, matcher.New(d.Pool)),
		imports:  importer.New(d.Pool, d.Logger),
		links:    matcher.New(d.Pool),
		ledgers:  ledger.New(d.Pool),
		expected: expected.New(d.Pool),
		enqueuer: tasks.NewEnqueuer(asynq.NewClientFromRedisClient(d.Redis)),
		dev:      newDevelopers(d),
	}

	g := r.Group(Prefix, securityHeaders, s.recoverPanic)
	g.GET("/static/:name", s.static)
	g.GET("/login", s.loadSession, s.signInPage)
	g.POST("/login", s.signIn)

	in := g.Group("", s.loadSession, s.requireSession, s.guardForm, s.requirePasswordChosen)
	in.POST("/logout", s.signOut)
	in.GET("/password", s.passwordPage)
	in.POST("/password", s.changePassword)
	s.routes(in)
	return s
}

// routes adds every page group to the signed-in group.
func (s *Console) routes(in *gin.RouterGroup) {
	s.routeOverview(in)
	s.routeCases(in)
	s.routeImports(in)
	s.routeLedgerRuns(in)
	s.routeExpectedPayments(in)
	s.routeDevelopers(in)
	s.routeAudit(in)
}
