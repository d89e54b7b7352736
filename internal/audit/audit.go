// Package audit appends to the audit trail. Events are append-only (a
// trigger refuses updates and deletes) and are written in the same
// transaction as the change they describe.
package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Event is one audit event to append.
type Event struct {
	OrganizationID  uuid.UUID
	PaymentIntentID *uuid.UUID
	CaseID          *uuid.UUID
	RawRecordID     *uuid.UUID
	ImportBatchID   *uuid.UUID
	LedgerRunID     *uuid.UUID
	Type            string // e.g. payment_intent.created, case.resolved
	Actor           string // "api_key:<id>", "user:<id>", "system"
	Message         string
	Payload         any // JSON-encoded; nil for none
}

// Append writes e with q (bound to the caller's transaction).
func Append(ctx context.Context, q *db.Queries, e Event) (db.AuditEvent, error) {
	var payload []byte
	if e.Payload != nil {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return db.AuditEvent{}, fmt.Errorf("encode audit payload: %w", err)
		}
		payload = b
	}
	ev, err := q.InsertAuditEvent(ctx, db.InsertAuditEventParams{
		OrganizationID: e.OrganizationID, PaymentIntentID: e.PaymentIntentID, CaseID: e.CaseID,
		RawRecordID: e.RawRecordID, ImportBatchID: e.ImportBatchID, LedgerRunID: e.LedgerRunID, EventType: e.Type,
		Actor: e.Actor, Payload: payload, Message: e.Message,
	})
	if err != nil {
		return db.AuditEvent{}, fmt.Errorf("append audit event %s: %w", e.Type, err)
	}
	return ev, nil
}

// Batch collects the events of one transaction and writes them in one
// statement: the matcher appends four or five per evidence record.
type Batch struct{ events []Event }

// Add queues e.
func (b *Batch) Add(e Event) { b.events = append(b.events, e) }

// Flush writes the queued events with q, in the order they were added.
func (b *Batch) Flush(ctx context.Context, q *db.Queries) error {
	if len(b.events) == 0 {
		return nil
	}
	n := len(b.events)
	p := db.InsertAuditEventsParams{
		OrganizationIds: make([]uuid.UUID, n), PaymentIntentIds: make([]string, n), CaseIds: make([]string, n),
		RawRecordIds: make([]string, n), EventTypes: make([]string, n), Actors: make([]string, n),
		Payloads: make([]string, n), Messages: make([]string, n),
	}
	for i, e := range b.events {
		p.OrganizationIds[i], p.EventTypes[i], p.Actors[i], p.Messages[i] = e.OrganizationID, e.Type, e.Actor, e.Message
		p.PaymentIntentIds[i], p.CaseIds[i], p.RawRecordIds[i] = idText(e.PaymentIntentID), idText(e.CaseID), idText(e.RawRecordID)
		if e.Payload != nil {
			b, err := json.Marshal(e.Payload)
			if err != nil {
				return fmt.Errorf("encode audit payload: %w", err)
			}
			p.Payloads[i] = string(b)
		}
	}
	if err := q.InsertAuditEvents(ctx, p); err != nil {
		return fmt.Errorf("append %d audit events: %w", n, err)
	}
	b.events = b.events[:0]
	return nil
}

func idText(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}
