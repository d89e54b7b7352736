// Package ratelimit enforces per-organization request budgets in Redis
// (GCRA via redis_rate), so every api process draws on one shared budget.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limiter checks requests against per-minute budgets.
type Limiter struct {
	l *redis_rate.Limiter
}

// New builds a limiter on rdb.
func New(rdb redis.UniversalClient) *Limiter { return &Limiter{l: redis_rate.NewLimiter(rdb)} }

// Result is one decision and what the rate-limit headers report.
type Result struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Duration // until the budget is full again
	RetryAfter time.Duration // until the next request is allowed (when refused)
}

// Allow spends one request of key's budget of perMinute requests a minute
// (bursts up to the whole minute's budget are allowed).
func (l *Limiter) Allow(ctx context.Context, key string, perMinute int) (Result, error) {
	res, err := l.l.Allow(ctx, "reconlayer:ratelimit:"+key, redis_rate.PerMinute(perMinute))
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return Result{
		Allowed:    res.Allowed > 0,
		Limit:      perMinute,
		Remaining:  res.Remaining,
		Reset:      res.ResetAfter,
		RetryAfter: res.RetryAfter,
	}, nil
}

// Remaining reports how many requests key's budget of perMinute a minute
// still allows, spending none: for budgets spent only on some outcomes
// (failed sign-ins), checked before the outcome is known.
func (l *Limiter) Remaining(ctx context.Context, key string, perMinute int) (int, error) {
	res, err := l.l.AllowN(ctx, "reconlayer:ratelimit:"+key, redis_rate.PerMinute(perMinute), 0)
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return res.Remaining, nil
}

// Seconds rounds d up to whole seconds for headers (never 0 for a positive wait).
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
