package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/api"
)

func TestConsoleSignInAndOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme Payments")
	b.user(org, "ops@acme.example", password)
	c := b.client()

	// Without a session, the console sends the browser to sign in.
	p := c.get("/console")
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/console/login", p.location())
	requireSecurityHeaders(t, p)

	login := c.get("/console/login")
	requireHTML(t, login, http.StatusOK)
	requireCSRFInEveryForm(t, login)
	require.Contains(t, login.Body, "<h1>Sign in</h1>")
	require.Equal(t, login.csrf(), c.cookie("/console/login", "reconlayer_console_login"), "double submit: the cookie holds the form's token")
	ck := setCookie(t, login, "reconlayer_console_login")
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	require.Equal(t, "/console/login", ck.Path)

	// A wrong password: the form again, with one message, and no session.
	p = c.post("/console/login", url.Values{"csrf_token": {login.csrf()}, "email": {"ops@acme.example"}, "password": {"wrong password!"}})
	requireHTML(t, p, http.StatusUnauthorized)
	require.Equal(t, "Incorrect email or password.", p.text("error"))
	require.Contains(t, p.Body, `value="ops@acme.example"`, "the email is kept")
	require.NotContains(t, p.Body, "wrong password!", "the password is not")
	require.Empty(t, c.cookie("/console", "reconlayer_console"))

	p = c.signIn("OPS@acme.example", password)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "/console", p.location())
	ck = setCookie(t, p, "reconlayer_console")
	require.True(t, ck.HttpOnly)
	require.False(t, ck.Secure, "plain HTTP and no TLS proxy configured")
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	require.Equal(t, "/console", ck.Path)
	require.InDelta(t, (12 * time.Hour).Seconds(), ck.MaxAge, 5, "the cookie lives as long as the session at most")
	require.Len(t, ck.Value, 43)
	require.Empty(t, c.cookie("/console/login", "reconlayer_console_login"), "the sign-in token is spent")

	home := c.get("/console")
	requireHTML(t, home, http.StatusOK)
	requireCSRFInEveryForm(t, home)
	require.Equal(t, "Acme Payments", home.text("org-name"))
	require.Equal(t, "ops@acme.example", home.text("user-email"))
	require.Contains(t, home.Body, `<a href="/console" aria-current="page">Overview</a>`)
	require.Contains(t, home.Body, `<h1>Overview</h1>`)
	// Signed in, the sign-in page sends the browser on.
	p = c.get("/console/login")
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/console", p.location())

	old := c.cookie("/console", "reconlayer_console")
	p = c.post("/console/logout", url.Values{"csrf_token": {home.csrf()}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "/console/login?notice=signed_out", p.location())
	require.Equal(t, -1, setCookie(t, p, "reconlayer_console").MaxAge, "the cookie is cleared")
	p = c.get(p.location())
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "You have signed out.", p.text("notice"))
	require.Equal(t, http.StatusSeeOther, c.get("/console").Status)

	// The old cookie, replayed, opens nothing: the session is revoked.
	replay := b.client()
	p = replay.get("/console", "Cookie", "reconlayer_console="+old)
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/console/login?notice=session_ended", p.location())
}

// setCookie returns the Set-Cookie of p named name.
func setCookie(t *testing.T, p page, name string) *http.Cookie {
	t.Helper()
	for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	require.Failf(t, "no cookie", "%s not set: %v", name, p.Header.Values("Set-Cookie"))
	return nil
}

// An unknown email and a wrong password read the same.
func TestConsoleSignInFailuresLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)
	c := b.client()
	wrong := c.signIn("ops@acme.example", "not the password")
	unknown := c.signIn("nobody@acme.example", password)
	requireHTML(t, wrong, http.StatusUnauthorized)
	requireHTML(t, unknown, http.StatusUnauthorized)
	strip := func(p page) string {
		s := strings.ReplaceAll(p.Body, p.csrf(), "TOKEN")
		return strings.NewReplacer("ops@acme.example", "EMAIL", "nobody@acme.example", "EMAIL").Replace(s)
	}
	require.Equal(t, strip(wrong), strip(unknown))
}

func TestConsoleSignInThrottle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)
	c := b.client()
	for range 10 {
		require.Equal(t, http.StatusUnauthorized, c.signIn("ops@acme.example", "guess guess guess").Status)
	}
	p := c.signIn("ops@acme.example", password)
	requireHTML(t, p, http.StatusTooManyRequests)
	require.Equal(t, "60", p.Header.Get("Retry-After"))
	require.Contains(t, p.text("error"), "Too many sign-in attempts")
	require.Empty(t, c.cookie("/console", "reconlayer_console"))
}

// Pages need a session: a GET comes back to where it was going after
// signing in, but only to a console page of this origin.
func TestConsoleNextAfterSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)

	c := b.client()
	p := c.get("/console/password")
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/console/login?next=%2Fconsole%2Fpassword", p.location())
	login := c.get(p.location())
	require.Contains(t, login.Body, `<input type="hidden" name="next" value="/console/password">`)
	p = c.signIn("ops@acme.example", password, "next", "/console/password")
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/console/password", p.location())

	for next, want := range map[string]string{
		"/console?tab=1":              "/console?tab=1",
		"/console/":                   "/console",
		"https://evil.example/":       "/console",
		"//evil.example/console":      "/console",
		"/\\evil.example":             "/console",
		"/console/../v1/api-keys":     "/console",
		"/consoles":                   "/console",
		"/v1/api-keys":                "/console",
		"javascript:alert(1)":         "/console",
		"/console/login":              "/console",
		"/console/static/console.css": "/console",
		"":                            "/console",
	} {
		p := b.client().signIn("ops@acme.example", password, "next", next)
		require.Equal(t, http.StatusSeeOther, p.Status, next)
		require.Equal(t, want, p.location(), next)
	}
	// A bad next in the sign-in link is not even rendered.
	login = b.client().get("/console/login?next=" + url.QueryEscape("https://evil.example/"))
	require.NotContains(t, login.Body, "evil.example")
}

// Every POST of a session needs the session's CSRF token, from this
// origin: without it the answer is the 403 page and nothing changes.
func TestConsoleRefusesFormsWithoutCSRFToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	b.user(org, "ops@acme.example", password)
	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	home := c.get("/console")
	token := home.csrf()
	require.Len(t, token, 43)

	other := b.client()
	other.mustSignIn("ops@acme.example", password)
	otherToken := other.get("/console").csrf()
	require.NotEqual(t, token, otherToken, "each session has its own token")

	newPassword := url.Values{"current_password": {password}, "new_password": {"a brand new password"}, "confirm_password": {"a brand new password"}}
	for _, tc := range []struct {
		name    string
		path    string
		form    url.Values
		headers []string
	}{
		{"logout without token", "/console/logout", url.Values{}, nil},
		{"logout with an empty token", "/console/logout", url.Values{"csrf_token": {""}}, nil},
		{"logout with a wrong token", "/console/logout", url.Values{"csrf_token": {strings.Repeat("A", 43)}}, nil},
		{"logout with another session's token", "/console/logout", url.Values{"csrf_token": {otherToken}}, nil},
		{"logout from another site", "/console/logout", url.Values{"csrf_token": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"logout from another origin", "/console/logout", url.Values{"csrf_token": {token}}, []string{"Origin", "https://evil.example"}},
		{"password without token", "/console/password", newPassword, nil},
		{"password with another session's token", "/console/password", withToken(newPassword, otherToken), nil},
		{"password from another site", "/console/password", withToken(newPassword, token), []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.post(tc.path, tc.form, tc.headers...)
			requireHTML(t, p, http.StatusForbidden)
			require.Equal(t, "Forbidden", p.text("error-title"))
			require.Empty(t, p.Header.Values("Set-Cookie"), "no cookie is touched")
		})
	}
	// Nothing changed: both sessions live, the password is the old one.
	requireHTML(t, c.get("/console"), http.StatusOK)
	requireHTML(t, other.get("/console"), http.StatusOK)
	b.client().mustSignIn("ops@acme.example", password)

	// The same forms with the token go through.
	p := c.post("/console/password", withToken(newPassword, token))
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = c.post("/console/logout", url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
}

func withToken(form url.Values, token string) url.Values {
	out := url.Values{"csrf_token": {token}}
	for k, v := range form {
		out[k] = v
	}
	return out
}

// The sign-in form is a double submit: the hidden field must match the
// cookie the form came with.
func TestConsoleSignInNeedsItsFormToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)

	creds := url.Values{"email": {"ops@acme.example"}, "password": {password}}
	c := b.client()
	p := c.post("/console/login", creds) // never saw the form: no cookie, no field
	requireHTML(t, p, http.StatusForbidden)
	require.Contains(t, p.text("error"), "This sign-in form expired")
	require.Empty(t, c.cookie("/console", "reconlayer_console"))

	login := c.get("/console/login")
	for _, tc := range []struct {
		name    string
		token   string
		headers []string
	}{
		{"no field", "", nil},
		{"another token", strings.Repeat("A", 43), nil},
		{"from another site", login.csrf(), []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		form := withToken(creds, tc.token)
		if tc.token == "" {
			form.Del("csrf_token")
		}
		p := c.post("/console/login", form, tc.headers...)
		requireHTML(t, p, http.StatusForbidden)
		require.Empty(t, c.cookie("/console", "reconlayer_console"), tc.name)
		login = p // the refusal renders a fresh form with a fresh token
	}
	p = c.post("/console/login", withToken(creds, login.csrf()))
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
}

// A one-time password leads to choosing a new one before anything else.
func TestConsoleMustChangePassword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, oneTime := b.user(b.org("Acme"), "new@acme.example", "")
	c := b.client()

	p := c.signIn("new@acme.example", oneTime)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "/console/password", p.location())
	p = c.get("/console")
	require.Equal(t, http.StatusSeeOther, p.Status)
	require.Equal(t, "/console/password", p.location(), "no page before the password is chosen")

	form := c.get("/console/password")
	requireHTML(t, form, http.StatusOK)
	requireCSRFInEveryForm(t, form)
	require.Contains(t, form.Body, "<h1>Choose a new password</h1>")
	require.NotContains(t, form.Body, "<nav", "no navigation to pages it may not open yet")
	token := form.csrf()

	for _, tc := range []struct {
		current, next, confirm, msg string
	}{
		{oneTime, "a brand new password", "a brand new passwort", "The new password and its confirmation differ."},
		{"not the one-time one", "a brand new password", "a brand new password", "The current password is wrong."},
		{oneTime, "short", "short", "The password must be at least 12 characters long."},
		{oneTime, oneTime, oneTime, "Choose a password other than the current one."},
	} {
		p := c.post("/console/password", url.Values{"csrf_token": {token}, "current_password": {tc.current}, "new_password": {tc.next}, "confirm_password": {tc.confirm}})
		requireHTML(t, p, http.StatusBadRequest)
		require.Equal(t, tc.msg, p.text("error"))
	}
	require.Equal(t, "/console/password", c.get("/console").location(), "still to be chosen")

	p = c.post("/console/password", url.Values{"csrf_token": {token}, "current_password": {oneTime}, "new_password": {"a brand new password"}, "confirm_password": {"a brand new password"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "/console?notice=password_changed", p.location())
	home := c.get(p.location())
	requireHTML(t, home, http.StatusOK)
	require.Equal(t, "Your password has been changed.", home.text("notice"))
	require.Contains(t, home.Body, "<nav")

	require.Equal(t, http.StatusUnauthorized, b.client().signIn("new@acme.example", oneTime).Status)
	b.client().mustSignIn("new@acme.example", "a brand new password")
}

// The overview counts the signed-in user's organization, and only it.
func TestConsoleOverviewCountsTheOrganization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	b.user(other, "ops@other.example", password)

	b.kase(acme, "plain", "")
	b.kase(acme, "matched", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved'")
	b.kase(acme, "fee", "verdict = 'matched_with_exception', reconciliation_status = 'reconciled', status = 'resolved', exception_type = 'fee_out_of_tolerance'")
	b.kase(acme, "review-1", "verdict = 'needs_review', exception_type = 'amount_mismatch', created_at = now() - interval '3 days'")
	b.kase(acme, "review-2", "verdict = 'needs_review', exception_type = 'amount_mismatch'")
	b.kase(acme, "late", "verdict = 'delayed', exception_type = 'timing_delay', sla_risk = true, created_at = now() - interval '20 days'")
	b.kase(other, "other-matched", "verdict = 'matched', reconciliation_status = 'reconciled'")
	b.kase(other, "other-missing", "verdict = 'unreconciled', exception_type = 'missing_leg'")
	b.kase(other, "other-plain", "")
	b.importBatch(acme, "acme-statement.csv", "failed", "row 1: no header named amount")
	b.importBatch(acme, "acme-ok.csv", "completed", "")
	b.importBatch(other, "other-secret.csv", "failed", "other's failure")

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console")
	requireHTML(t, p, http.StatusOK)
	for id, want := range map[string]string{
		"count-total": "6", "count-open": "4", "count-needs-review": "2", "count-exceptions": "4",
		"count-sla-risk": "1", "count-delayed": "1",
		"verdict-matched": "1", "verdict-matched_with_exception": "1", "verdict-needs_review": "2",
		"verdict-unreconciled": "0", "verdict-delayed": "1", "verdict-sla_risk": "0", "verdict-none": "1",
		"status-reconciled": "2", "status-tentatively_reconciled": "0", "status-unreconciled": "4",
		"exception-amount_mismatch": "2", "exception-fee_out_of_tolerance": "1", "exception-timing_delay": "1",
	} {
		require.Equal(t, want, p.text(id), id)
	}
	require.Empty(t, p.text("exception-missing_leg"), "another organization's exception")
	require.Contains(t, p.Body, "acme-statement.csv")
	require.Contains(t, p.Body, "row 1: no header named amount")
	require.Equal(t, "1", p.text("failed-imports-total"))
	require.NotContains(t, p.Body, "acme-ok.csv", "only failures")
	require.NotContains(t, p.Body, "other-secret.csv")

	// The chart covers 14 days: the case of 20 days ago is not in it.
	require.Contains(t, p.Body, "5 cases in all.")
	today := time.Now().UTC().Format("2006-01-02")
	threeDaysAgo := time.Now().UTC().AddDate(0, 0, -3).Format("2006-01-02")
	require.Regexp(t, `<time datetime="`+today+`">[^<]*</time></th>(<td class="num">\d+</td>){7}<td class="num">4</td>`, p.Body)
	require.Regexp(t, `<time datetime="`+threeDaysAgo+`">[^<]*</time></th><td class="num">0</td><td class="num">0</td><td class="num">1</td>`, p.Body)
	require.Contains(t, p.Body, `<svg viewBox="0 0 720 260" role="img" aria-labelledby="chart-title chart-desc" id="chart">`)

	// No header picks another organization: the session is bound to one.
	p = c.get("/console", "X-Organization-Id", other.String())
	require.Equal(t, "Acme", p.text("org-name"))
	require.Equal(t, "6", p.text("count-total"))

	o := b.client()
	o.mustSignIn("ops@other.example", password)
	p = o.get("/console")
	require.Equal(t, "Other", p.text("org-name"))
	require.Equal(t, "3", p.text("count-total"))
	require.Equal(t, "1", p.text("exception-missing_leg"))
	require.Empty(t, p.text("exception-amount_mismatch"))
	require.Contains(t, p.Body, "other-secret.csv")
	require.NotContains(t, p.Body, "acme-statement.csv")
}

// An organization without cases or imports gets a page that says so.
func TestConsoleOverviewEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)
	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console")
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "0", p.text("count-total"))
	require.Equal(t, "No case has an exception.", p.text("no-exceptions"))
	require.Equal(t, "No import has failed.", p.text("no-import-failures"))
	require.Contains(t, p.Body, "0 cases in all.")
}

// Console paths that do not exist, or not under that method, answer HTML
// pages with the console's headers; the api's own misses stay JSON.
func TestConsoleErrorPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)
	anon := b.client()

	for _, path := range []string{"/console/nope", "/console/static/nope.css", "/console/static/../console.go"} {
		p := anon.get(path)
		requireHTML(t, p, http.StatusNotFound)
		require.Equal(t, "Page not found", p.text("error-title"), path)
		require.Contains(t, p.Body, `<a href="/console/login">Sign in</a>`)
	}
	p := anon.do("DELETE", "/console", nil)
	requireHTML(t, p, http.StatusMethodNotAllowed)
	p = anon.do("PUT", "/console/login", url.Values{})
	requireHTML(t, p, http.StatusMethodNotAllowed)

	// Signed in, the error page keeps the header and navigation.
	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p = c.get("/console/nope")
	requireHTML(t, p, http.StatusNotFound)
	require.Equal(t, "ops@acme.example", p.text("user-email"))
	require.Contains(t, p.Body, `<a href="/console">Back to the overview</a>`)
	requireCSRFInEveryForm(t, p)

	// The api is untouched: its misses are still the JSON envelope.
	p = anon.get("/v1/nope")
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, p.Header.Get("Content-Type"), "application/json")
	p = anon.get("/consoles")
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, p.Header.Get("Content-Type"), "application/json")
}

func TestConsoleStylesheet(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.client().get("/console/static/console.css")
	require.Equal(t, http.StatusOK, p.Status)
	require.Equal(t, "text/css; charset=utf-8", p.Header.Get("Content-Type"))
	requireSecurityHeaders(t, p)
	require.Contains(t, p.Body, ".v-matched")
	require.NotContains(t, p.Body, "http", "nothing from another origin")
}

// Cookies are Secure over TLS, and on plain HTTP when the console is told
// it sits behind a TLS-terminating proxy.
func TestConsoleSecureCookies(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *api.Options) { o.Console.SecureCookie = true })
	b.user(b.org("Acme"), "ops@acme.example", password)
	c := b.client()
	login := c.get("/console/login")
	require.True(t, setCookie(t, login, "reconlayer_console_login").Secure)
	// Go's cookie jar keeps Secure cookies from plain HTTP: post by hand.
	p := c.post("/console/login", url.Values{"csrf_token": {login.csrf()}, "email": {"ops@acme.example"}, "password": {password}},
		"Cookie", "reconlayer_console_login="+login.csrf())
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.True(t, setCookie(t, p, "reconlayer_console").Secure)

	// Over TLS without the option.
	tls := httptest.NewTLSServer(setup(t).router)
	t.Cleanup(tls.Close)
	resp, err := tls.Client().Get(tls.URL + "/console/login")
	require.NoError(t, err)
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == "reconlayer_console_login" {
			found = true
			require.True(t, ck.Secure, "over TLS")
		}
	}
	require.True(t, found)
}

// A session past its absolute or idle expiry opens nothing; the browser is
// told why and brought back after signing in.
func TestConsoleExpiredSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(b.org("Acme"), "ops@acme.example", password)
	for name, set := range map[string]string{
		"absolute": "expires_at = now() - interval '1 second'",
		"idle":     "last_seen_at = now() - interval '2 hours 1 second'",
	} {
		t.Run(name, func(t *testing.T) {
			c := b.client()
			c.mustSignIn("ops@acme.example", password)
			requireHTML(t, c.get("/console/password"), http.StatusOK)
			_, err := b.pool.Exec(context.Background(), "UPDATE console_sessions SET "+set+" WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
				c.cookie("/console", "reconlayer_console"))
			require.NoError(t, err)
			p := c.get("/console/password")
			require.Equal(t, http.StatusSeeOther, p.Status)
			require.Equal(t, "/console/login?next=%2Fconsole%2Fpassword&notice=session_ended", p.location())
			require.Equal(t, -1, setCookie(t, p, "reconlayer_console").MaxAge, "the dead cookie is cleared")
			login := c.get(p.location())
			require.Equal(t, "Your session has ended. Sign in again.", login.text("notice"))
		})
	}
}
