package client

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how often and how patiently a call is retried (see the
// package documentation for which answers are retried).
type RetryPolicy struct {
	// MaxAttempts counts every request of a call, the first included; 1
	// turns retries off.
	MaxAttempts int
	// BaseBackoff is the wait before the first retry when the server gives
	// no Retry-After; it doubles with each retry, with jitter.
	BaseBackoff time.Duration
	// MaxBackoff caps the computed backoff (not a Retry-After).
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// longer one ends the retries and returns the error.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy: 4 attempts, backoff from 200 ms up to 5 s, and a
// Retry-After of up to a minute (a rate limit's window) honoured.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxRetryAfter: time.Minute}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = d.BaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = d.MaxRetryAfter
	}
	return p
}

// backoff is the wait after attempt (1-based) failed: BaseBackoff·2^(attempt-1),
// capped, of which the upper half is random so that clients refused together
// do not come back together.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// shouldRetry says whether a failed attempt may be retried and the minimum
// wait the server asked for.
func shouldRetry(resp *Response, err error, replayable bool) (bool, time.Duration) {
	if resp == nil {
		// No answer: the request may or may not have reached the server.
		return replayable, 0
	}
	var e *Error
	if !errors.As(err, &e) {
		// An answer that could not be read.
		return replayable, 0
	}
	switch e.StatusCode {
	case http.StatusTooManyRequests:
		// The limiter refuses before any handler runs.
		return true, e.RetryAfter
	case http.StatusConflict:
		return replayable && e.Code == CodeIdempotencyRequestInProgress, e.RetryAfter
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return replayable, e.RetryAfter
	}
	return false, 0
}

// parseRetryAfter reads Retry-After: delay seconds or an HTTP date. 0 when
// absent, malformed or past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
