package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Error codes of the envelope (seed 002 and DESIGN §3): stable, safe to
// branch on.
const (
	CodeInvalidRequest               = "invalid_request"
	CodeInvalidIdempotencyKey        = "invalid_idempotency_key"
	CodeInvalidOrganizationContext   = "invalid_organization_context"
	CodeUnauthorized                 = "unauthorized"
	CodeForbidden                    = "forbidden"
	CodeNotFound                     = "not_found"
	CodeMethodNotAllowed             = "method_not_allowed"
	CodePaymentIntentConflict        = "payment_intent_conflict"
	CodeIdempotencyKeyConflict       = "idempotency_key_conflict"
	CodeIdempotencyRequestInProgress = "idempotency_request_in_progress"
	CodePayloadTooLarge              = "payload_too_large"
	CodeUnsupportedMediaType         = "unsupported_media_type"
	CodeInternal                     = "internal_error"
	CodeServiceUnavailable           = "service_unavailable"
	CodeOverloaded                   = "overloaded"
	// CodeRateLimited is the error of a 429, whose body is
	// @fastify/rate-limit's rather than the envelope (seed 002).
	CodeRateLimited = "Too Many Requests"
)

// Error is an answer outside 2xx: its status and the documented envelope
// {error, message, issues, details, upstreamStatus}. Get it with errors.As.
type Error struct {
	StatusCode int `json:"-"`
	// Code is the envelope's error code (Code* constants). Empty when the
	// body was not the envelope (a proxy's page, say): see Body.
	Code    string  `json:"error"`
	Message string  `json:"message,omitempty"`
	Issues  []Issue `json:"issues,omitempty"`
	// Details is structured context of some errors (a payment intent
	// conflict's fields, a linked leg's caseId): see DecodeDetails.
	Details        json.RawMessage `json:"details,omitempty"`
	UpstreamStatus int             `json:"upstreamStatus,omitempty"`
	// RetryAfter is the wait the server asked for (Retry-After), 0 if none.
	RetryAfter time.Duration `json:"-"`
	// Method and Path name the request; Body is the raw answer.
	Method string `json:"-"`
	Path   string `json:"-"`
	Body   []byte `json:"-"`
	// Response is the whole answer (headers, attempts).
	Response *Response `json:"-"`
}

// Issue locates one validation failure of an invalid_request: Path is the
// field's segments (array indices as strings).
type Issue struct {
	Path    []string `json:"path"`
	Message string   `json:"message"`
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.StatusCode, code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	for i, is := range e.Issues {
		if i == 3 {
			msg += fmt.Sprintf(" (and %d more issues)", len(e.Issues)-i)
			break
		}
		msg += fmt.Sprintf(" [%v: %s]", is.Path, is.Message)
	}
	return msg
}

// DecodeDetails decodes Details into v (a struct or a map).
func (e *Error) DecodeDetails(v any) error {
	if len(e.Details) == 0 {
		return fmt.Errorf("%d %s has no details", e.StatusCode, e.Code)
	}
	return json.Unmarshal(e.Details, v)
}

func newError(method, path string, resp *Response) *Error {
	e := &Error{}
	// A body that is not the envelope leaves the fields empty; the status
	// and Body still say what happened.
	_ = json.Unmarshal(resp.Body, e)
	e.StatusCode, e.Method, e.Path, e.Body, e.Response = resp.StatusCode, method, path, resp.Body, resp
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}
