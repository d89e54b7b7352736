package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/ruleset"
)

// CodeInvalidCaseTransition: a case action that makes no sense in the
// case's status (archive twice, reopen an open case).
const CodeInvalidCaseTransition = "invalid_case_transition"

// serviceError maps the services' errors to the envelope; anything else is
// a 500 (abort logs it and hides its text).
func serviceError(err error) error {
	var transition *cases.TransitionError
	switch {
	case errors.Is(err, apikey.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "API key not found.")
	case errors.Is(err, intent.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Payment intent not found.")
	case errors.Is(err, cases.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Reconciliation case not found.")
	case errors.Is(err, ruleset.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Reconciliation rule not found.")
	case errors.As(err, &transition):
		e := NewError(http.StatusConflict, CodeInvalidCaseTransition, "Cannot %s a case that is %s.", transition.Action, transition.From)
		e.Details = gin.H{"action": transition.Action, "status": transition.From}
		return e
	case errors.Is(err, idempotency.ErrLeaseLost):
		return NewError(http.StatusConflict, CodeIdempotencyInProgress,
			"Another request with this Idempotency-Key took over; retry shortly to get its result.")
	}
	return err
}
