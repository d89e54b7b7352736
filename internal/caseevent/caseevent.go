// Package caseevent says which webhook events a change to a reconciliation
// case (or its creation, with its payment intent) announces, and with what
// data. The matcher and the SLA scorer record
// them in the event outbox in the transaction that makes the change, with the
// case's new version as the sequence consumers order updates by.
package caseevent

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/recon"
)

// Event types about cases and their intents.
const (
	IntentCreated = "payment_intent.created"
	Updated       = "reconciliation_case.updated"
	Reconciled    = "reconciliation_case.reconciled"
	Exception     = "reconciliation_case.exception"
	SLARisk       = "reconciliation_case.sla_risk"
)

// Of returns the events a change from before to after announces (none when
// nothing a consumer sees changed) and their data.
func Of(before, after db.ReconciliationCase) ([]string, []byte, error) {
	changed := deref(before.Verdict) != deref(after.Verdict) || before.ReconciliationStatus != after.ReconciliationStatus ||
		deref(before.ExceptionType) != deref(after.ExceptionType) || before.Status != after.Status ||
		before.SlaRisk != after.SlaRisk || text(before.UnexplainedDelta) != text(after.UnexplainedDelta)
	if !changed {
		return nil, nil, nil
	}
	types := []string{Updated}
	if after.ReconciliationStatus == recon.StatusReconciled && before.ReconciliationStatus != recon.StatusReconciled {
		types = append(types, Reconciled)
	}
	if after.ExceptionType != nil && deref(before.ExceptionType) != *after.ExceptionType {
		types = append(types, Exception)
	}
	if after.SlaRisk && !before.SlaRisk {
		types = append(types, SLARisk)
	}
	data, err := json.Marshal(map[string]any{
		"id": after.ID, "paymentIntentId": after.PaymentIntentID, "status": after.Status,
		"reconciliationStatus": after.ReconciliationStatus, "verdict": after.Verdict, "exceptionType": after.ExceptionType,
		"slaRisk": after.SlaRisk, "expectedAmount": after.ExpectedAmount.String(), "actualAmount": after.ActualAmount.Dec(),
		"unexplainedDelta": after.UnexplainedDelta.Dec(), "version": after.Version, "updatedAt": after.UpdatedAt.UTC(),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encode case event: %w", err)
	}
	return types, data, nil
}

// Outbox collects the events of one transaction's case changes and records
// them with one statement.
type Outbox struct {
	p db.InsertEventOutboxesManyParams
}

// Add queues the events of a change from before to after.
func (o *Outbox) Add(before, after db.ReconciliationCase) error {
	types, data, err := Of(before, after)
	if err != nil {
		return err
	}
	for _, t := range types {
		o.add(after, t, data)
	}
	return nil
}

// Created queues the payment_intent.created event of a new intent and its
// case c.
func (o *Outbox) Created(c db.ReconciliationCase) {
	data := fmt.Appendf(nil, `{"paymentIntentId":%q,"caseId":%q}`, c.PaymentIntentID, c.ID)
	o.add(c, IntentCreated, data)
}

func (o *Outbox) add(c db.ReconciliationCase, eventType string, data []byte) {
	o.p.OrganizationIds = append(o.p.OrganizationIds, c.OrganizationID)
	o.p.EventTypes = append(o.p.EventTypes, eventType)
	o.p.CaseIds = append(o.p.CaseIds, c.ID)
	o.p.Sequences = append(o.p.Sequences, c.Version)
	o.p.Data = append(o.p.Data, string(data))
}

// Len is the number of queued events.
func (o *Outbox) Len() int { return len(o.p.EventTypes) }

// Flush records the queued events with q (bound to the change's transaction).
func (o *Outbox) Flush(ctx context.Context, q *db.Queries) error {
	if o.Len() == 0 {
		return nil
	}
	if err := q.InsertEventOutboxesMany(ctx, o.p); err != nil {
		return fmt.Errorf("record %d case events: %w", o.Len(), err)
	}
	o.p = db.InsertEventOutboxesManyParams{}
	return nil
}

// text is a nullable amount in canonical form ("" for NULL).
func text(n numeric.Null) string {
	if d := n.Dec(); d != nil {
		return d.String()
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
