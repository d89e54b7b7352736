// Package webhook tells webhook consumers what happened: it owns the
// endpoints customers register, turns recorded events into one delivery per
// subscribed endpoint (the dispatcher), and sends each delivery signed per
// the Standard Webhooks specification, retrying on a fixed schedule and
// keeping every attempt (the deliverer).
package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/caseevent"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/resource"
)

// EventPing is what POST /v1/webhook-endpoints/{id}/test sends; it is not
// subscribed to, it goes to the endpoint tested.
const EventPing = "ping"

// AllEvents stands for every event type in subscribedEvents.
const AllEvents = "*"

// EventTypes is the catalogue an endpoint subscribes from (DESIGN §4).
var EventTypes = []string{
	caseevent.IntentCreated,
	caseevent.Updated,
	caseevent.Reconciled,
	caseevent.Exception,
	caseevent.SLARisk,
	"import_batch.completed",
	"import_batch.failed",
	"ledger_reconciliation_run.completed",
	"expected_payment.reconciled",
	"expected_payment.partially_reconciled",
	"expected_payment.tentatively_reconciled",
	"expected_payment.unreconciled",
	"expected_payment.overdue",
}

// KnownEvent reports whether t may be subscribed to.
func KnownEvent(t string) bool { return t == AllEvents || slices.Contains(EventTypes, t) }

// subscribed reports whether an endpoint subscribed to events wants t.
func subscribed(events []string, t string) bool {
	return slices.Contains(events, AllEvents) || slices.Contains(events, t)
}

// envelope is the body of every webhook (Standard Webhooks payload shape).
type envelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// caseData is a case event's data: the case as the API shows it, and the
// version it shows as the sequence consumers order updates by.
type caseData struct {
	resource.Case
	Sequence int64 `json:"sequence"`
}

// intentData is a payment intent event's data: the intent as
// GET /v1/payment-intents/{id} shows it, with its case's sequence.
type intentData struct {
	resource.IntentDetail
	Sequence int64 `json:"sequence"`
}

// render builds the body of an event about a case (or its intent) from the
// case as it stands now: the sequence is the version the data shows, so a
// consumer that keeps the highest sequence keeps the latest state.
func render(eventType string, at time.Time, b cases.Bundle) ([]byte, error) {
	c := b.Row.ReconciliationCase
	var data any = caseData{Case: resource.CaseOf(b), Sequence: c.Version}
	if eventType == caseevent.IntentCreated {
		data = intentData{IntentDetail: resource.RenderIntentDetail(b.Row.PaymentIntent, c, b.Audit), Sequence: c.Version}
	}
	body, err := json.Marshal(envelope{Type: eventType, Timestamp: at.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("render %s event of case %s: %w", eventType, c.ID, err)
	}
	return body, nil
}

// renderPing builds the body of a test event.
func renderPing(endpointID uuid.UUID, at time.Time) []byte {
	body, _ := json.Marshal(envelope{Type: EventPing, Timestamp: at.UTC(), Data: map[string]string{
		"endpointId": endpointID.String(),
		"message":    "Test event from ReconLayer: this endpoint receives and verifies webhooks.",
	}})
	return body
}
