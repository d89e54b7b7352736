package console_test

import (
	"context"
	"crypto/sha256"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/api"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/metrics"
)

// cheap are argon2id costs that keep sign-ins fast in tests (the defaults
// are tested in internal/consoleauth).
var cheap = consoleauth.Params{Memory: 64, Time: 1, Threads: 1}

// password is every test user's password unless a test says otherwise.
const password = "correct horse battery"

// bundle is the whole api router (the console mounted as in production)
// over a fresh database and Redis, served on a local port.
type bundle struct {
	t      testing.TB
	pool   *pgxpool.Pool
	q      *db.Queries
	users  *consoleauth.Service
	router http.Handler
	srv    *httptest.Server
	rdb    *redis.Client // the api's Redis, for the workers a test runs
}

func setup(t testing.TB, tweak ...func(*api.Options)) *bundle {
	t.Helper()
	rdb, _ := dbtest.Redis(t)
	pool := dbtest.Postgres(t)
	opts := api.DefaultOptions()
	opts.Console.Auth.Params = cheap
	for _, f := range tweak {
		f(&opts)
	}
	router := api.NewRouter(api.Deps{
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Pool:   pool, Redis: rdb, Metrics: metrics.New(), Options: opts,
	})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return &bundle{t: t, pool: pool, q: db.New(pool), users: consoleauth.New(pool, consoleauth.Options{Params: cheap}), router: router, srv: srv, rdb: rdb}
}

func (b *bundle) org(name string) uuid.UUID {
	b.t.Helper()
	o, err := b.q.CreateOrganization(context.Background(), name)
	require.NoError(b.t, err)
	return o.ID
}

// user creates a console user with password (a one-time one when empty,
// returned).
func (b *bundle) user(org uuid.UUID, email, pw string) (db.ConsoleUser, string) {
	b.t.Helper()
	c, err := b.users.CreateUser(context.Background(), consoleauth.CreateUserInput{OrganizationID: org, Email: email, Password: pw})
	require.NoError(b.t, err)
	if pw == "" {
		pw = c.OneTimePassword
	}
	return c.User, pw
}

// kase creates a case in org through the intent service, then sets columns
// on it (set is the SET list of an UPDATE; empty leaves it as created:
// open, unreconciled, no verdict).
func (b *bundle) kase(org uuid.UUID, ref, set string) uuid.UUID {
	b.t.Helper()
	r, err := intent.New(b.pool).Create(context.Background(), intent.CreateInput{
		OrganizationID: org, Actor: "test", ExternalReference: ref,
		SourceAmount: decimal.RequireFromString("100"), SourceCurrency: "USD",
		DestinationAmount: decimal.RequireFromString("100"), DestinationCurrency: "USDC",
		PaymentType: "stablecoin", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}, nil)
	require.NoError(b.t, err)
	if set != "" {
		_, err = b.pool.Exec(context.Background(), "UPDATE reconciliation_cases SET "+set+" WHERE id = $1", r.Case.ID)
		require.NoError(b.t, err)
	}
	return r.Case.ID
}

// importBatch records an import batch of org as the worker leaves it.
func (b *bundle) importBatch(org uuid.UUID, file, status, why string) {
	b.t.Helper()
	sum := sha256.Sum256([]byte(org.String() + file))
	var errText *string
	if why != "" {
		errText = &why
	}
	_, err := b.pool.Exec(context.Background(), `
INSERT INTO import_batches (organization_id, record_type, format, original_file_name, content_sha256, size_bytes, status, error, created_by, completed_at)
VALUES ($1, 'bank_statement', 'csv', $2, $3, 100, $4, $5, 'test', now())`, org, file, sum[:], status, errText)
	require.NoError(b.t, err)
}

// client is a browser without a browser: a cookie jar, redirects not
// followed (tests look at them).
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (b *bundle) client() *client {
	jar, err := cookiejar.New(nil)
	require.NoError(b.t, err)
	return &client{t: b.t, base: b.srv.URL, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one response, its body read.
type page struct {
	Status int
	Header http.Header
	Body   string
}

func (c *client) do(method, path string, form url.Values, headers ...string) page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (c *client) get(path string, headers ...string) page { return c.do("GET", path, nil, headers...) }

func (c *client) post(path string, form url.Values, headers ...string) page {
	return c.do("POST", path, form, headers...)
}

// cookie returns the jar's cookie name for path ("" when none).
func (c *client) cookie(path, name string) string {
	u, err := url.Parse(c.base + path)
	require.NoError(c.t, err)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// signIn fills in the sign-in form and returns the answer to posting it.
func (c *client) signIn(email, pw string, extra ...string) page {
	c.t.Helper()
	login := c.get("/console/login")
	require.Equal(c.t, http.StatusOK, login.Status, login.Body)
	form := url.Values{"csrf_token": {login.csrf()}, "email": {email}, "password": {pw}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return c.post("/console/login", form)
}

// mustSignIn signs in and requires the redirect to the overview.
func (c *client) mustSignIn(email, pw string) {
	c.t.Helper()
	p := c.signIn(email, pw)
	require.Equal(c.t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(c.t, "/console", p.location())
}

var csrfInput = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]*)">`)

// csrf is the token of the page's first form.
func (p page) csrf() string {
	m := csrfInput.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return m[1]
}

// text is the text of the element with id (no nested elements).
func (p page) text(id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

func (p page) location() string { return p.Header.Get("Location") }

// requireHTML checks that p is an HTML page with status and the console's
// security headers.
func requireHTML(t testing.TB, p page, status int) {
	t.Helper()
	require.Equal(t, status, p.Status, p.Body)
	require.Equal(t, "text/html; charset=utf-8", p.Header.Get("Content-Type"))
	requireSecurityHeaders(t, p)
	require.True(t, strings.HasPrefix(p.Body, "<!doctype html>"), p.Body)
}

func requireSecurityHeaders(t testing.TB, p page) {
	t.Helper()
	require.Equal(t, "no-store", p.Header.Get("Cache-Control"))
	require.Equal(t, "nosniff", p.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", p.Header.Get("X-Frame-Options"))
	require.Equal(t, "same-origin", p.Header.Get("Referrer-Policy"))
	csp := p.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Empty(t, p.Header.Get("X-Ratelimit-Limit"), "the console is not rate-limited as the api is")
}

var (
	formTag   = regexp.MustCompile(`(?s)<form\b[^>]*>.*?</form>`)
	postForm  = regexp.MustCompile(`<form\b[^>]*method="post"`)
	getForm   = regexp.MustCompile(`^<form\b[^>]*method="get"`)
	anyMethod = regexp.MustCompile(`<form\b[^>]*method="([^"]*)"`)
)

// requireCSRFInEveryForm checks that every form of p either posts and
// carries a non-empty csrf_token, or is a GET form (filters, whose URLs
// are shared) that must not carry it: the token would end up in the URL.
func requireCSRFInEveryForm(t testing.TB, p page) {
	t.Helper()
	forms := formTag.FindAllString(p.Body, -1)
	for _, f := range forms {
		if getForm.MatchString(f) {
			require.NotContains(t, f, `name="csrf_token"`, "a GET form would put the token in the URL: %s", f)
			continue
		}
		require.Regexp(t, postForm, f, "a form that is neither method=post nor method=get: %s", f)
		m := csrfInput.FindStringSubmatch(f)
		require.NotNil(t, m, "a form without the csrf_token field: %s", f)
		require.Len(t, m[1], 43, "the token is a 32-byte one: %s", f)
	}
	require.Len(t, anyMethod.FindAllString(p.Body, -1), len(forms))
}
