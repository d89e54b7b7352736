package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// Error codes of the envelope (seed 002). Clients branch on them: never rename one.
const (
	CodeInvalidRequest             = "invalid_request"
	CodeInvalidIdempotencyKey      = "invalid_idempotency_key"
	CodeInvalidOrganizationContext = "invalid_organization_context"
	CodeUnauthorized               = "unauthorized"
	CodeForbidden                  = "forbidden"
	CodeNotFound                   = "not_found"
	CodeMethodNotAllowed           = "method_not_allowed"
	CodePaymentIntentConflict      = "payment_intent_conflict"
	CodeIdempotencyKeyConflict     = "idempotency_key_conflict"
	CodeIdempotencyInProgress      = "idempotency_request_in_progress"
	CodePayloadTooLarge            = "payload_too_large"
	CodeUnsupportedMediaType       = "unsupported_media_type"
	CodeInternal                   = "internal_error"
	CodeServiceUnavailable         = "service_unavailable"
	CodeOverloaded                 = "overloaded"
)

// Issue locates one validation failure (see validate.Issue).
type Issue = validate.Issue

// Error is the envelope every error response of every route uses (DESIGN §3).
type Error struct {
	Status         int     `json:"-"`
	Code           string  `json:"error"`
	Message        string  `json:"message,omitempty"`
	Issues         []Issue `json:"issues,omitempty"`
	Details        any     `json:"details,omitempty"`
	UpstreamStatus int     `json:"upstreamStatus,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// NewError builds an envelope error.
func NewError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// unavailableRetryAfter is the Retry-After, in seconds, of a 503 for a
// database that went away: a restart or failover takes seconds.
const unavailableRetryAfter = 2

// abort answers err in the envelope and stops the handler chain. An error that
// is not an *Error is logged and answered as a 500 without its text, which may
// hold internals.
func abort(c *gin.Context, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case backend.Unavailable(err):
		// Postgres away (restarting, failing over): nothing was written
		// that a retry with the same Idempotency-Key would double.
		slog.WarnContext(c.Request.Context(), "request failed: database unavailable", "err", err.Error(),
			"method", c.Request.Method, "route", c.FullPath())
		c.Header("Retry-After", strconv.Itoa(unavailableRetryAfter))
		e = NewError(http.StatusServiceUnavailable, CodeServiceUnavailable,
			"The database is unavailable; retry in a few seconds (with the same Idempotency-Key for writes).")
	default:
		slog.ErrorContext(c.Request.Context(), "request failed", "err", err.Error(),
			"method", c.Request.Method, "route", c.FullPath())
		e = NewError(http.StatusInternalServerError, CodeInternal, "An unexpected error occurred; the request id identifies it in our logs.")
	}
	c.AbortWithStatusJSON(e.Status, e)
}
