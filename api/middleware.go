package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/logging"
	"github.com/reconlayer/reconlayer/internal/metrics"
)

const headerRequestID = "X-Request-Id"

// requestID takes the caller's X-Request-Id when it is sane, otherwise makes
// one, echoes it on the response and puts it on every log line of the request.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(headerRequestID)
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		c.Header(headerRequestID, id)
		c.Set("requestId", id)
		c.Request = c.Request.WithContext(logging.With(c.Request.Context(), slog.String("request_id", id)))
		c.Next()
	}
}

// validRequestID accepts up to 128 visible ASCII characters: enough for any
// tracing scheme, and nothing that could break a log line or a header.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// accessLog writes one JSON line per request. It logs the route template and
// path but never headers or bodies, which carry credentials.
func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}

// instrument records request count, latency and in-flight requests by route
// template; unknown paths share the label "unmatched" so labels stay bounded.
func instrument(m *metrics.HTTP) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		m.InFlight.Inc()
		defer m.InFlight.Dec()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.Requests.WithLabelValues(c.Request.Method, route, metrics.StatusClass(c.Writer.Status())).Inc()
		m.Duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

// recovery turns a panic into a logged stack and a 500 in the error envelope:
// no stack trace ever reaches a client.
func recovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r) // the client went away; net/http handles this one
				}
				logger.ErrorContext(c.Request.Context(), "panic serving request",
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()),
					"method", c.Request.Method, "route", c.FullPath())
				if c.Writer.Written() {
					c.Abort()
					return
				}
				abort(c, NewError(http.StatusInternalServerError, CodeInternal,
					"An unexpected error occurred; the request id identifies it in our logs."))
			}
		}()
		c.Next()
	}
}
