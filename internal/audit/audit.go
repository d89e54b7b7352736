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
		RawRecordID: e.RawRecordID, ImportBatchID: e.ImportBatchID, EventType: e.Type,
		Actor: e.Actor, Payload: payload, Message: e.Message,
	})
	if err != nil {
		return db.AuditEvent{}, fmt.Errorf("append audit event %s: %w", e.Type, err)
	}
	return ev, nil
}
