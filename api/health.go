package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// readyTimeout bounds each dependency check so that a hung dependency
// makes /ready answer 503 instead of hanging the probe.
const readyTimeout = 2 * time.Second

func (s *server) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// ready answers 200 when Postgres and Redis both answer, else 503 naming what is down.
func (s *server) ready(c *gin.Context) {
	checks := map[string]string{}
	down := false
	check := func(name string, ping func(context.Context) error) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
		defer cancel()
		if err := ping(ctx); err != nil {
			checks[name] = "down: " + err.Error()
			down = true
			return
		}
		checks[name] = "ok"
	}
	check("postgres", s.pool.Ping)
	check("redis", func(ctx context.Context) error { return s.redis.Ping(ctx).Err() })
	if down {
		e := NewError(http.StatusServiceUnavailable, CodeServiceUnavailable, "a dependency is unreachable")
		e.Details = gin.H{"checks": checks}
		abort(c, e)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}
