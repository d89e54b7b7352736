// Package api is the HTTP front of ReconLayer: it authenticates, validates,
// writes the durable record through the services in internal/, enqueues work
// and answers. It never runs the matcher and never builds SQL.
package api

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/metrics"
)

// Deps is what the router needs from the process.
type Deps struct {
	Logger  *slog.Logger
	Pool    *pgxpool.Pool
	Redis   redis.UniversalClient
	Metrics *metrics.Registry
}

type server struct {
	logger *slog.Logger
	pool   *pgxpool.Pool
	redis  redis.UniversalClient
}

// NewRouter builds the gin engine with every route and middleware.
func NewRouter(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	s := &server{logger: d.Logger, pool: d.Pool, redis: d.Redis}

	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// ClientIP must not trust X-Forwarded-For from anyone: it keys rate limits.
	_ = r.SetTrustedProxies(nil)
	r.Use(requestID(), accessLog(d.Logger), instrument(d.Metrics.HTTP), recovery(d.Logger))
	r.NoRoute(func(c *gin.Context) {
		abort(c, NewError(http.StatusNotFound, CodeNotFound, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, NewError(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})

	r.GET("/health", s.health)
	r.GET("/ready", s.ready)
	r.GET("/metrics", gin.WrapH(d.Metrics.Handler()))
	return r
}
