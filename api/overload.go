package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// maxOverloadRetryAfter caps the Retry-After of an overloaded refusal: a
// refusal is cheap, and a client told to come back in minutes would stay
// away long after the queue caught up.
const maxOverloadRetryAfter = 30 * time.Second

// backlogWait bounds how long a request waits for a queue reading under way:
// GetQueueInfo takes no context, and a Redis that hangs must not hold up
// every evidence write (as for the rate limiter, the check then fails open).
const backlogWait = 250 * time.Millisecond

// admitEvidence refuses an evidence write with 503 overloaded while the
// match queue is further behind than Options.OverloadQueueLatency, so that
// a backlog stops growing in Redis instead of growing without limit. It runs
// before the idempotency claim: a refused request stores nothing, and its
// retry with the same Idempotency-Key runs afresh.
func (s *server) admitEvidence(c *gin.Context) {
	if s.backlog == nil {
		return
	}
	behind, bound := s.backlog.Latency(c.Request.Context()), s.opts.OverloadQueueLatency
	if behind <= bound {
		return
	}
	after := overloadRetryAfter(behind, bound)
	c.Header("Retry-After", strconv.Itoa(after))
	abort(c, NewError(http.StatusServiceUnavailable, CodeOverloaded,
		"Evidence is not being accepted for now: the matching queue is behind by %s (the limit is %s). Retry after %s with the same Idempotency-Key.",
		humanSeconds(ceilSeconds(behind)), humanSeconds(int(bound/time.Second)), humanSeconds(after)))
}

func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// overloadRetryAfter is Retry-After in whole seconds: how far the queue is
// past the bound (a rough guess at the time it needs to get back under it,
// the work that arrived in that span), from 1 s to maxOverloadRetryAfter.
func overloadRetryAfter(behind, bound time.Duration) int {
	return ceilSeconds(min(max(behind-bound, time.Second), maxOverloadRetryAfter))
}

// backlog reads how far behind a queue is (asynq's latency: the age of its
// oldest pending task) at most once per interval, one reading shared by
// every request of the process: under load the check must not become load
// on Redis itself. A reading that fails counts as not behind (fail open):
// evidence writes survive Redis trouble through the outbox.
type backlog struct {
	// inspector shares the api's Redis client: closing it would close the
	// client, so it is never closed.
	inspector *asynq.Inspector
	queue     string
	logger    *slog.Logger
	every     time.Duration    // readings are at least this far apart
	wait      time.Duration    // how long a request waits for a reading under way
	now       func() time.Time // tests move the clock

	mu      sync.Mutex
	readAt  time.Time     // start of the last reading
	reading chan struct{} // closed when the reading under way ends; nil: none
	latency time.Duration
}

func newBacklog(rdb redis.UniversalClient, queue string, logger *slog.Logger) *backlog {
	return &backlog{
		inspector: asynq.NewInspectorFromRedisClient(rdb), queue: queue, logger: logger,
		every: time.Second, wait: backlogWait, now: time.Now,
	}
}

// Latency is the queue's latency as last read, starting a new reading when
// the last one is older than every. A request waits for a reading under way
// at most wait, then goes on with the previous reading.
func (b *backlog) Latency(ctx context.Context) time.Duration {
	b.mu.Lock()
	if now := b.now(); b.reading == nil && (b.readAt.IsZero() || now.Sub(b.readAt) >= b.every) {
		b.readAt, b.reading = now, make(chan struct{})
		go b.refresh(b.reading)
	}
	done, latency := b.reading, b.latency
	b.mu.Unlock()
	if done == nil {
		return latency
	}
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case <-done:
		b.mu.Lock()
		latency = b.latency
		b.mu.Unlock()
	case <-timer.C:
	case <-ctx.Done():
	}
	return latency
}

func (b *backlog) refresh(done chan struct{}) {
	latency := b.read()
	b.mu.Lock()
	b.latency, b.reading = latency, nil
	b.mu.Unlock()
	close(done)
}

func (b *backlog) read() time.Duration {
	info, err := b.inspector.GetQueueInfo(b.queue)
	if err == nil {
		return info.Latency
	}
	// A queue nothing was ever enqueued to does not exist yet: not behind.
	if queues, qerr := b.inspector.Queues(); qerr == nil && !slices.Contains(queues, b.queue) {
		return 0
	}
	b.logger.Warn("cannot read queue latency; evidence writes are let through", "queue", b.queue, "err", err.Error())
	return 0
}
