package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
)

// The admin cookies carry a dashboard session to /admin/queues, which a
// browser opens (and whose UI calls its own API) without an Authorization
// header. adminOrgCookie keeps the organization the session resolved to, so
// that a session acting for several organizations still resolves without
// x-organization-id.
const (
	adminCookie    = "reconlayer_admin"
	adminOrgCookie = "reconlayer_admin_org"
	adminPath      = "/admin"
	adminQueues    = "/admin/queues"
	// adminCookieTTL caps the cookie even when the token lives longer: the
	// token is a credential for the whole api, so a browser keeps it briefly.
	adminCookieTTL = time.Hour
)

// sharedRedis hands asynqmon the api's own client, so the UI opens no pool
// of its own.
type sharedRedis struct{ client redis.UniversalClient }

func (r sharedRedis) MakeRedisClient() any { return r.client }

// routeAdmin mounts asynq's web UI and the cookie that lets a browser reach it.
//
// The UI is read-only: pausing queues or deleting, running and archiving
// tasks from a browser would bypass the outbox and the audit trail, and any
// dashboard user of any organization gets in, while the queues are shared by
// every organization. With ReadOnly its API refuses every method but GET,
// so a cookie-authenticated request can change nothing either.
//
// The handler's Close is never called: it would close the api's shared Redis
// client (asynqmon closes whatever MakeRedisClient returned, and its
// inspector the same client again). The process closes that client itself.
func (s *server) routeAdmin(r *gin.Engine) {
	ui := gin.WrapH(asynqmon.New(asynqmon.Options{
		RootPath:     adminQueues,
		RedisConnOpt: sharedRedis{s.redis},
		ReadOnly:     true,
	}))
	queues := r.Group(adminQueues, s.authenticateAdmin, s.requireAuth, requireSession)
	queues.Any("", ui)
	queues.Any("/*path", ui)

	// Only a bearer session is turned into a cookie: a cookie does not renew
	// itself past the hour.
	r.POST(adminPath+"/session", s.authenticate, s.requireAuth, requireSession, s.createAdminSession)
	// Signing out needs no credential: it only clears the caller's cookies.
	r.DELETE(adminPath+"/session", s.deleteAdminSession)
}

// authenticateAdmin is authenticate with the admin cookies standing in for
// absent headers. Errors are left to requireAuth, as for /v1.
func (s *server) authenticateAdmin(c *gin.Context) {
	authorization, org := c.GetHeader("Authorization"), c.GetHeader("X-Organization-Id")
	if authorization == "" {
		token, err := c.Cookie(adminCookie)
		if err != nil || token == "" {
			abort(c, NewError(http.StatusUnauthorized, CodeUnauthorized,
				"Sign in first: POST %s/session with a dashboard session, or send `Authorization: Bearer <session token>`.", adminPath))
			return
		}
		authorization = "Bearer " + token
		if org == "" {
			org, _ = c.Cookie(adminOrgCookie)
		}
	}
	s.authenticateWith(c, authorization, org)
}

func (s *server) createAdminSession(c *gin.Context) {
	p := mustPrincipal(c)
	// The token was verified; only its value is wanted here.
	_, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	token = strings.TrimSpace(token)
	maxAge := min(time.Until(p.ExpiresAt), adminCookieTTL)
	// Within the verifier's leeway an expired token still passes; Max-Age 0
	// would make a session cookie that outlives it, so keep one second.
	seconds := max(int(maxAge/time.Second), 1)
	setAdminCookie(c, adminCookie, token, seconds)
	setAdminCookie(c, adminOrgCookie, p.OrganizationID.String(), seconds)
	c.Status(http.StatusNoContent)
}

func (s *server) deleteAdminSession(c *gin.Context) {
	setAdminCookie(c, adminCookie, "", -1)
	setAdminCookie(c, adminOrgCookie, "", -1)
	c.Status(http.StatusNoContent)
}

// setAdminCookie sets (maxAge > 0) or clears (maxAge < 0) one admin cookie.
// Secure follows the scheme the browser used: TLS here, or a proxy's
// X-Forwarded-Proto. Trusting that header from anyone is safe because it can
// only add Secure, and a Secure cookie is merely not sent back over http.
func setAdminCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     adminPath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https",
		SameSite: http.SameSiteStrictMode,
	})
}
