package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/idempotency"
)

const (
	ctxClaim          = "idempotencyClaim"
	ctxResponse       = "responseBody"
	ctxResponseStatus = "responseStatus"
	headerIdemKey     = "Idempotency-Key"
	headerIdemReplay  = "Idempotency-Replayed"
	contentTypeJSON   = "application/json; charset=utf-8"
)

// idempotent guards a POST that creates or triggers something: the key is
// required, a retry with the same body replays the stored response, a
// different body or a concurrent retry is refused with 409. "The same body"
// is the same canonical body: JSON whatever its formatting, a multipart form
// whatever its boundary and part order (idempotency.FingerprintRequest).
func (s *server) idempotent(c *gin.Context) {
	key := c.GetHeader(headerIdemKey)
	switch {
	case key == "":
		abort(c, NewError(http.StatusBadRequest, CodeInvalidIdempotencyKey,
			"Missing Idempotency-Key header: generate a fresh UUID for each operation and reuse it when you retry."))
		return
	case len(key) > 255:
		abort(c, NewError(http.StatusBadRequest, CodeInvalidIdempotencyKey,
			"Idempotency-Key must be 1 to 255 characters, got %d.", len(key)))
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		abort(c, err)
		return
	}
	p := mustPrincipal(c)
	claim, replay, err := s.idem.Begin(c.Request.Context(), idempotency.Request{
		OrganizationID: p.OrganizationID,
		Operation:      c.Request.Method + " " + c.Request.URL.Path,
		Key:            key,
		Fingerprint:    idempotency.FingerprintRequest(c.GetHeader("Content-Type"), body),
	})
	switch {
	case errors.Is(err, idempotency.ErrConflict):
		abort(c, NewError(http.StatusConflict, CodeIdempotencyKeyConflict,
			"This Idempotency-Key was already used with a different request body; use a new key for a new request."))
		return
	case errors.Is(err, idempotency.ErrInProgress):
		abort(c, NewError(http.StatusConflict, CodeIdempotencyInProgress,
			"The original request with this Idempotency-Key is still being processed; retry shortly."))
		return
	case err != nil:
		abort(c, err)
		return
	case replay != nil:
		c.Header(headerIdemReplay, "true")
		c.Data(replay.Status, contentTypeJSON, replay.Body)
		c.Abort()
		return
	}
	c.Header(headerIdemReplay, "false")
	c.Set(ctxClaim, claim)
	c.Next()
	// A request that did not complete (validation error, failure, rollback)
	// gives the key back so that a corrected retry runs afresh.
	if !claim.Completed() || c.Writer.Status() >= 500 {
		err := claim.Release(context.WithoutCancel(c.Request.Context()))
		switch {
		case err == nil:
		case backend.Unavailable(err):
			// The database that failed the request is away: give the key
			// back once it returns, or every retry would be refused as in
			// progress until the lease runs out.
			go s.releaseLater(claim)
		default:
			s.logger.ErrorContext(c.Request.Context(), "release idempotency key", "err", err.Error())
		}
	}
}

// releaseRetry is how often releaseLater tries again.
const releaseRetry = 500 * time.Millisecond

// releaseLater retries a claim's release while the database is unavailable,
// for at most the lease: past it, the claim is free anyway.
func (s *server) releaseLater(claim *idempotency.Claim) {
	deadline := time.Now().Add(s.opts.IdempotencyLease)
	for time.Now().Before(deadline) {
		time.Sleep(releaseRetry)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := claim.Release(ctx)
		cancel()
		if err == nil || !backend.Unavailable(err) {
			if err != nil {
				s.logger.Error("release idempotency key", "err", err.Error())
			}
			return
		}
	}
}

// renderer turns a service result into a response body; it may read more
// inside the write's transaction (tx) so the body matches what commits.
type renderer[T any] func(ctx context.Context, tx pgx.Tx, out T) (any, error)

// plain adapts a renderer that needs only the result.
func plain[T any](f func(T) any) renderer[T] {
	return func(_ context.Context, _ pgx.Tx, out T) (any, error) { return f(out), nil }
}

// status returns a fixed response status for completeWith.
func status[T any](code int) func(T) int { return func(T) int { return code } }

// completeWith returns the hook a service runs inside its write transaction:
// it renders the result, records it against the idempotency claim in that same
// transaction and keeps the rendering for the response. stored, when not nil,
// renders what is kept for replays instead (to leave out secrets shown once).
func completeWith[T any](c *gin.Context, statusOf func(T) int, render renderer[T], stored func(T) any) func(context.Context, pgx.Tx, T) error {
	return func(ctx context.Context, tx pgx.Tx, out T) error {
		v, err := render(ctx, tx, out)
		if err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("render response: %w", err)
		}
		code := statusOf(out)
		c.Set(ctxResponse, body)
		c.Set(ctxResponseStatus, code)
		keep := body
		if stored != nil {
			if keep, err = json.Marshal(stored(out)); err != nil {
				return fmt.Errorf("render stored response: %w", err)
			}
		}
		if v, ok := c.Get(ctxClaim); ok {
			return v.(*idempotency.Claim).Complete(ctx, tx, code, keep)
		}
		return nil
	}
}

// respondCompleted writes the body and status completeWith rendered.
func respondCompleted(c *gin.Context) {
	c.Data(c.MustGet(ctxResponseStatus).(int), contentTypeJSON, c.MustGet(ctxResponse).([]byte))
}

// respondRaw answers body and, when the request holds an Idempotency-Key
// claim not yet completed, records the answer for it outside the write's
// transaction: for handlers that answer after their write committed (a
// worker's outcome awaited, say).
func (s *server) respondRaw(c *gin.Context, code int, body []byte) {
	if v, ok := c.Get(ctxClaim); ok {
		if claim := v.(*idempotency.Claim); !claim.Completed() {
			if err := claim.CompleteAfter(context.WithoutCancel(c.Request.Context()), code, body); err != nil {
				s.logger.ErrorContext(c.Request.Context(), "record response for idempotency", "err", err.Error())
			}
		}
	}
	c.Data(code, contentTypeJSON, body)
}
