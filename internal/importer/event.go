package importer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/resource"
)

// Webhook events of batches.
const (
	EventCompleted = "import_batch.completed"
	EventFailed    = "import_batch.failed"
)

// recordEvent records a batch's event with the batch as data, in the
// transaction that finishes it.
func recordEvent(ctx context.Context, q *db.Queries, b db.ImportBatch, eventType string) error {
	data, err := json.Marshal(resource.RenderImportBatch(b))
	if err != nil {
		return fmt.Errorf("encode batch event: %w", err)
	}
	if err := q.InsertEventOutbox(ctx, db.InsertEventOutboxParams{OrganizationID: b.OrganizationID, EventType: eventType, Data: data}); err != nil {
		return fmt.Errorf("record %s: %w", eventType, err)
	}
	return nil
}
