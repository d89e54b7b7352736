package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/fault"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// CodeInvalidCaseTransition: a case action that makes no sense in the
// case's status (archive twice, reopen an open case).
const CodeInvalidCaseTransition = "invalid_case_transition"

// CodeWebhookEndpointDisabled: a delivery retried while its endpoint is
// disabled.
const CodeWebhookEndpointDisabled = "webhook_endpoint_disabled"

// serviceError maps the services' errors to the envelope; anything else is
// a 500 (abort logs it and hides its text).
func serviceError(err error) error {
	var (
		transition *cases.TransitionError
		elsewhere  *matcher.LinkedElsewhereError
		linkState  *matcher.LinkStateError
		input      *importer.InputError
		faultIn    *fault.InputError
		conflict   *fault.ConflictError
		state      *fault.StateError
	)
	switch {
	case errors.Is(err, matcher.ErrCaseNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Reconciliation case not found.")
	case errors.Is(err, matcher.ErrCaseArchived):
		e := NewError(http.StatusConflict, CodeInvalidCaseTransition, "Cannot link evidence to a case that is archived; reopen it first.")
		e.Details = gin.H{"action": "link", "status": "archived"}
		return e
	case errors.Is(err, matcher.ErrLegNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Flow leg not found.")
	case errors.Is(err, matcher.ErrLinkNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Match link not found.")
	case errors.As(err, &elsewhere):
		e := NewError(http.StatusConflict, CodeFlowLegAlreadyLinked,
			"The flow leg is linked to case %s; unlink it there first.", elsewhere.CaseID)
		e.Details = gin.H{"caseId": elsewhere.CaseID.String()}
		return e
	case errors.As(err, &linkState):
		e := NewError(http.StatusConflict, CodeMatchLinkNotActive, "The match link is %s; only an active or suggested link can be removed.", linkState.Status)
		e.Details = gin.H{"status": linkState.Status}
		return e
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
	case errors.Is(err, importer.ErrProfileNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Import profile not found.")
	case errors.Is(err, importer.ErrBatchNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Import batch not found.")
	case errors.As(err, &input):
		e := NewError(http.StatusBadRequest, CodeInvalidRequest, "%s", input.Msg)
		e.Issues = []Issue{{Path: []string{input.Field}, Message: input.Msg}}
		return e
	case errors.Is(err, webhook.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Webhook endpoint not found.")
	case errors.Is(err, webhook.ErrDeliveryNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Webhook delivery not found.")
	case errors.Is(err, webhook.ErrEndpointDisabled):
		return NewError(http.StatusConflict, CodeWebhookEndpointDisabled,
			"The delivery's webhook endpoint is disabled; enable it (PATCH status active) before retrying.")
	case errors.Is(err, ledger.ErrLedgerNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Ledger not found.")
	case errors.Is(err, ledger.ErrAccountNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Ledger account not found.")
	case errors.Is(err, ledger.ErrRunNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Reconciliation run not found.")
	case errors.Is(err, ledger.ErrSourceNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Source file not found.")
	case errors.Is(err, ledger.ErrMatchNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Match not found.")
	case errors.Is(err, ledger.ErrItemNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Item not found.")
	case errors.Is(err, ledger.ErrDiscrepancyNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Discrepancy not found.")
	case errors.Is(err, expected.ErrAccountNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Internal account not found.")
	case errors.Is(err, expected.ErrCounterpartyNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Counterparty not found.")
	case errors.Is(err, expected.ErrPaymentNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Expected payment not found.")
	case errors.Is(err, expected.ErrTransactionNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "Transaction not found.")
	case errors.As(err, &faultIn):
		e := NewError(http.StatusBadRequest, CodeInvalidRequest, "%s", faultIn.Msg)
		e.Issues = []Issue{{Path: faultIn.Path, Message: faultIn.Msg}}
		return e
	case errors.As(err, &conflict):
		e := NewError(http.StatusConflict, conflict.Code, "%s", conflict.Msg)
		if conflict.Details != nil {
			e.Details = conflict.Details
		}
		return e
	case errors.As(err, &state):
		e := NewError(http.StatusConflict, CodeInvalidStateTransition, "Cannot %s a %s that is %s.", state.Action, state.Object, state.Status)
		e.Details = gin.H{"action": state.Action, "status": state.Status}
		return e
	case errors.Is(err, idempotency.ErrLeaseLost):
		return NewError(http.StatusConflict, CodeIdempotencyInProgress,
			"Another request with this Idempotency-Key took over; retry shortly to get its result.")
	}
	return err
}
