package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/auth"
)

// Helpers of this file are prefixed with adm.

func admOn(o *Options) { o.AdminQueues = true }

// admCookies returns the response's cookies by name.
func admCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// admWithCookie is a request carrying only the admin cookies.
func admWithCookie(method, path, token string, org uuid.UUID) req {
	cookie := adminCookie + "=" + token
	if org != uuid.Nil {
		cookie += "; " + adminOrgCookie + "=" + org.String()
	}
	return req{method: method, path: path, headers: map[string]string{"Cookie": cookie}}
}

func TestAdminQueuesAreOffByDefault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sess := b.session("user_1", b.org("Acme"))
	for _, r := range []req{
		{method: "GET", path: "/admin/queues"},
		{method: "GET", path: "/admin/queues/", token: sess},
		{method: "GET", path: "/admin/queues/api/queues", token: sess},
		{method: "POST", path: "/admin/session", token: sess},
		{method: "DELETE", path: "/admin/session"},
	} {
		envelope(t, b.do(r), http.StatusNotFound, CodeNotFound)
	}
}

func TestAdminQueuesAdmitSessionsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, admOn)
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	for _, path := range []string{"/admin/queues", "/admin/queues/", "/admin/queues/api/queues"} {
		t.Run(path, func(t *testing.T) {
			envelope(t, b.do(req{method: "GET", path: path}), http.StatusUnauthorized, CodeUnauthorized)
			envelope(t, b.do(admWithCookie("GET", path, "not-a-token", uuid.Nil)), http.StatusUnauthorized, CodeUnauthorized)
			envelope(t, b.do(req{method: "GET", path: path, token: "not-a-token"}), http.StatusUnauthorized, CodeUnauthorized)
			// Whatever its scopes, an API key is not a session, in the header or the cookie.
			envelope(t, b.do(req{method: "GET", path: path, token: key}), http.StatusForbidden, CodeForbidden)
			envelope(t, b.do(admWithCookie("GET", path, key, uuid.Nil)), http.StatusForbidden, CodeForbidden)
		})
	}
	expired, err := auth.SignSession(testSecret, "user_1", []string{org.String()}, -time.Hour, time.Now())
	require.NoError(t, err)
	e := envelope(t, b.do(admWithCookie("GET", "/admin/queues/api/queues", expired, uuid.Nil)), http.StatusUnauthorized, CodeUnauthorized)
	require.Contains(t, e.Message, "expired")
}

func TestAdminQueuesServeTheUIToASession(t *testing.T) {
	t.Parallel()
	b := setup(t, admOn)
	sess := b.session("user_1", b.org("Acme"))
	_, err := asynq.NewClientFromRedisClient(b.redis).Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue("default"))
	require.NoError(t, err)

	// Over a real server: asynqmon leaves the page's Content-Type to
	// net/http's sniffing, which a ResponseRecorder behind gin does not do.
	srv := httptest.NewServer(b.router)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/admin/queues", "/admin/queues/", "/admin/queues/queues/default"} {
		r, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer "+sess)
		resp, err := srv.Client().Do(r)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Contains(t, resp.Header.Get("Content-Type"), "text/html", path)
		require.Contains(t, string(body), "/admin/queues", "the UI is rooted at its mount point")
	}

	rec := b.do(req{method: "GET", path: "/admin/queues/api/queues", token: sess})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decode[struct {
		Queues []struct {
			Queue string `json:"queue"`
			Size  int    `json:"size"`
		} `json:"queues"`
	}](t, rec)
	require.Len(t, list.Queues, 1)
	require.Equal(t, "default", list.Queues[0].Queue)
	require.Equal(t, 1, list.Queues[0].Size)

	// Read-only: nothing in the queues can be changed through the UI.
	rec = b.do(req{method: "POST", path: "/admin/queues/api/queues/default:pause", token: sess})
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code, rec.Body.String())
	rec = b.do(req{method: "DELETE", path: "/admin/queues/api/queues/default", token: sess})
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code, rec.Body.String())
	paused, err := asynq.NewInspectorFromRedisClient(b.redis).GetQueueInfo("default")
	require.NoError(t, err)
	require.False(t, paused.Paused)
	require.Equal(t, 1, paused.Size)

	// The UI borrows the api's Redis client and never closes it.
	require.NoError(t, b.redis.Ping(context.Background()).Err())
}

func TestAdminSessionCookie(t *testing.T) {
	t.Parallel()
	b := setup(t, admOn)
	org := b.org("Acme")
	sess := b.session("user_1", org)

	rec := b.do(req{method: "POST", path: "/admin/session", token: sess})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	cookies := admCookies(rec)
	c := cookies[adminCookie]
	require.NotNil(t, c, rec.Header().Values("Set-Cookie"))
	require.Equal(t, sess, c.Value)
	require.True(t, c.HttpOnly)
	require.False(t, c.Secure, "the request came over plain http")
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/admin", c.Path)
	require.InDelta(t, 3600, c.MaxAge, 5, "an hour at most")
	require.Equal(t, org.String(), cookies[adminOrgCookie].Value)

	// The cookie alone reaches the UI and its API.
	rec = b.do(admWithCookie("GET", "/admin/queues/api/queues", c.Value, uuid.Nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec = b.do(admWithCookie("GET", "/admin/queues", c.Value, uuid.Nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// A cookie does not mint another cookie, and an API key gets none.
	envelope(t, b.do(admWithCookie("POST", "/admin/session", c.Value, uuid.Nil)), http.StatusUnauthorized, CodeUnauthorized)
	key, _ := b.apiKey(org)
	rec = b.do(req{method: "POST", path: "/admin/session", token: key})
	envelope(t, rec, http.StatusForbidden, CodeForbidden)
	require.Empty(t, rec.Header().Values("Set-Cookie"))

	rec = b.do(req{method: "DELETE", path: "/admin/session"})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	cookies = admCookies(rec)
	for _, name := range []string{adminCookie, adminOrgCookie} {
		require.NotNil(t, cookies[name], name)
		require.Less(t, cookies[name].MaxAge, 0, "%s is cleared", name)
		require.Empty(t, cookies[name].Value)
		require.Equal(t, "/admin", cookies[name].Path)
	}
}

func TestAdminSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	b := setup(t, admOn)
	acme, globex := b.org("Acme"), b.org("Globex")

	t.Run("Secure over TLS or behind a TLS proxy", func(t *testing.T) {
		sess := b.session("user_1", acme)
		rec := b.do(req{method: "POST", path: "https://reconlayer.example/admin/session", token: sess})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.True(t, admCookies(rec)[adminCookie].Secure)
		require.True(t, admCookies(rec)[adminOrgCookie].Secure)
		rec = b.do(req{method: "POST", path: "/admin/session", token: sess, headers: map[string]string{"X-Forwarded-Proto": "https"}})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.True(t, admCookies(rec)[adminCookie].Secure)
	})

	t.Run("Max-Age ends with the token", func(t *testing.T) {
		ten, err := auth.SignSession(testSecret, "user_1", []string{acme.String()}, 10*time.Minute, time.Now())
		require.NoError(t, err)
		rec := b.do(req{method: "POST", path: "/admin/session", token: ten})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.InDelta(t, 600, admCookies(rec)[adminCookie].MaxAge, 5)
	})

	t.Run("a session acting for several organizations keeps the one it chose", func(t *testing.T) {
		both := b.session("user_1", acme, globex)
		envelope(t, b.do(req{method: "POST", path: "/admin/session", token: both}), http.StatusBadRequest, CodeInvalidOrganizationContext)
		rec := b.do(req{method: "POST", path: "/admin/session", token: both, headers: map[string]string{"X-Organization-Id": globex.String()}})
		require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
		require.Equal(t, globex.String(), admCookies(rec)[adminOrgCookie].Value)
		rec = b.do(admWithCookie("GET", "/admin/queues/api/queues", both, globex))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		// The organization cookie is checked against the token like the header.
		other := b.org("Initech")
		envelope(t, b.do(admWithCookie("GET", "/admin/queues/api/queues", both, other)), http.StatusBadRequest, CodeInvalidOrganizationContext)
	})
}
