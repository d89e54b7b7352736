package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/logging"
	"github.com/reconlayer/reconlayer/internal/ratelimit"
)

const (
	ctxPrincipal = "principal"
	ctxAuthErr   = "authErr"
)

// authenticate resolves the caller but does not refuse yet: the rate limiter
// runs next and must count unauthenticated requests too (by client IP).
func (s *server) authenticate(c *gin.Context) {
	s.authenticateWith(c, c.GetHeader("Authorization"), c.GetHeader("X-Organization-Id"))
}

// authenticateWith is authenticate for a credential that may come from
// elsewhere than the headers (the admin cookie).
func (s *server) authenticateWith(c *gin.Context, authorization, org string) {
	p, err := s.auth.Authenticate(c.Request.Context(), authorization, org)
	if err != nil {
		c.Set(ctxAuthErr, err)
		c.Next()
		return
	}
	c.Set(ctxPrincipal, p)
	c.Request = c.Request.WithContext(logging.With(c.Request.Context(),
		slog.String("organization_id", p.OrganizationID.String())))
	c.Next()
}

func principalOf(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(ctxPrincipal)
	if !ok {
		return auth.Principal{}, false
	}
	return v.(auth.Principal), true
}

// mustPrincipal is for handlers behind requireAuth.
func mustPrincipal(c *gin.Context) auth.Principal {
	p, _ := principalOf(c)
	return p
}

// rateLimit spends one request of the organization's budget (or the client
// IP's when no organization resolved) and reports it in headers on every
// response. If Redis is unreachable it lets the request through: refusing all
// traffic because the limiter is down would turn a degraded queue into an outage.
// rateLimitTimeout bounds a rate-limit check; past it the request is let
// through (the limiter fails open).
const rateLimitTimeout = 250 * time.Millisecond

func (s *server) rateLimit(c *gin.Context) {
	key, limit := "ip:"+c.ClientIP(), s.opts.RateLimitPerMinute
	if p, ok := principalOf(c); ok {
		key = "org:" + p.OrganizationID.String()
		if p.RateLimitPerMinute != nil {
			limit = int(*p.RateLimitPerMinute)
		}
	}
	// Bounded: with Redis away, go-redis retries would add seconds to every
	// request before the limiter lets it through.
	ctx, cancel := context.WithTimeout(c.Request.Context(), rateLimitTimeout)
	res, err := s.limiter.Allow(ctx, key, limit)
	cancel()
	if err != nil {
		s.logger.WarnContext(c.Request.Context(), "rate limiter unavailable, request allowed", "err", err.Error())
		c.Next()
		return
	}
	h := c.Writer.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(res.Limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("X-Ratelimit-Reset", strconv.Itoa(ratelimit.Seconds(res.Reset)))
	if !res.Allowed {
		after := max(ratelimit.Seconds(res.RetryAfter), 1)
		h.Set("Retry-After", strconv.Itoa(after))
		// The body of @fastify/rate-limit, as seed 002 documents for 429.
		c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{
			"statusCode": http.StatusTooManyRequests,
			"error":      "Too Many Requests",
			"message":    fmt.Sprintf("Rate limit exceeded, retry in %s", humanSeconds(after)),
		})
		return
	}
	c.Next()
}

func humanSeconds(n int) string {
	switch {
	case n == 1:
		return "1 second"
	case n < 60:
		return fmt.Sprintf("%d seconds", n)
	case n == 60:
		return "1 minute"
	}
	return fmt.Sprintf("%d seconds", n)
}

// requireAuth refuses a request whose credential did not resolve.
func (s *server) requireAuth(c *gin.Context) {
	v, failed := c.Get(ctxAuthErr)
	if !failed {
		c.Next()
		return
	}
	err := v.(error)
	switch {
	case errors.Is(err, auth.ErrUnauthorized):
		abort(c, NewError(http.StatusUnauthorized, CodeUnauthorized, "%s", err.Error()))
	case errors.Is(err, auth.ErrOrganizationContext):
		abort(c, NewError(http.StatusBadRequest, CodeInvalidOrganizationContext, "%s", err.Error()))
	default:
		abort(c, fmt.Errorf("authenticate: %w", err))
	}
}

// requireSession admits dashboard sessions only (managing keys and webhook
// endpoints, reading audit events).
func requireSession(c *gin.Context) {
	if mustPrincipal(c).Kind != auth.KindSession {
		abort(c, NewError(http.StatusForbidden, CodeForbidden,
			"This endpoint requires a signed-in dashboard session, not an API key."))
		return
	}
	c.Next()
}

// requireScope admits credentials holding scope.
func requireScope(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !mustPrincipal(c).HasScope(scope) {
			e := NewError(http.StatusForbidden, CodeForbidden, "This API key lacks the %s scope required here.", scope)
			e.Details = gin.H{"requiredScope": scope}
			abort(c, e)
			return
		}
		c.Next()
	}
}

// requireAnyScope admits a credential with at least one of scopes.
func requireAnyScope(scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := mustPrincipal(c)
		for _, sc := range scopes {
			if p.HasScope(sc) {
				c.Next()
				return
			}
		}
		e := NewError(http.StatusForbidden, CodeForbidden, "This API key lacks a scope required here: one of %s.", strings.Join(scopes, ", "))
		e.Details = gin.H{"requiredScopes": scopes}
		abort(c, e)
	}
}

// isV1 tells whether a path is under the versioned API (rate-limited, authenticated).
func isV1(path string) bool { return path == "/v1" || strings.HasPrefix(path, "/v1/") }
