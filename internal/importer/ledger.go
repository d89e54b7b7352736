package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// SourceLedger is the raw-record source of client_internal_ledger rows:
// they say what should happen, so they are not evidence.
const SourceLedger = "ledger"

// ledgerPayload is a ledger row as the payment intent the API would have
// been sent (empty cells left out, as an omitted field), and what makes it
// one the API would refuse.
func ledgerPayload(e *statement.Entry) ([]byte, []string) {
	fields := make(map[string]string, len(e.Fields))
	for path, v := range e.Fields {
		if v != "" {
			fields[path] = v
		}
	}
	js, err := json.Marshal(nest(fields))
	if err != nil {
		return []byte("{}"), []string{"the row cannot be encoded: " + err.Error()}
	}
	_, problems := ledgerRequest(js)
	return js, problems
}

// ledgerRequest reads a ledger row's payload as POST /v1/payment-intents
// reads its body — no unknown fields, the same validation — and names each
// problem by its field.
func ledgerRequest(payload []byte) (intent.Request, []string) {
	var req intent.Request
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, []string{"not a payment intent: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	var is validate.Issues
	req.Validate(&is)
	problems := make([]string, len(is))
	for i, x := range is {
		problems[i] = x.String()
	}
	return req, problems
}

// recordIntents records a completed ledger batch's valid rows as payment
// intents, a row per transaction with the row marked in it: a run cut short
// leaves no row recorded twice, and the next takes the rest. A row whose
// externalReference exists with other fields becomes invalid, saying which.
func (w *Worker) recordIntents(ctx context.Context, b db.ImportBatch, taskID string) error {
	for {
		rows, err := w.q.QueuedLedgerRows(ctx, db.QueuedLedgerRowsParams{BatchID: &b.ID, Lim: 200})
		if err != nil {
			return fmt.Errorf("read queued rows of batch %s: %w", b.ID, err)
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			if err := w.recordIntent(ctx, b, r); err != nil {
				return err
			}
		}
		if _, err := w.q.CountMatchedImportRows(ctx, &b.ID); err != nil {
			return fmt.Errorf("count recorded rows of batch %s: %w", b.ID, err)
		}
	}
	return tasks.Done(ctx, w.q, taskID)
}

func (w *Worker) recordIntent(ctx context.Context, b db.ImportBatch, r db.QueuedLedgerRowsRow) error {
	line := fmt.Sprintf("line %d", deref(r.RowNumber))
	req, problems := ledgerRequest(r.Payload)
	if len(problems) > 0 {
		// Valid when stored; the rules have changed since.
		return w.reject(ctx, r, line, problems)
	}
	res, err := w.intents.Create(ctx, req.Input(b.OrganizationID, b.CreatedBy),
		func(ctx context.Context, tx pgx.Tx, res intent.Result) error {
			return w.q.WithTx(tx).RecordLedgerRow(ctx, db.RecordLedgerRowParams{ID: r.ID, PaymentIntentID: &res.Intent.ID})
		})
	var conflict *intent.ConflictError
	if errors.As(err, &conflict) {
		diffs := make([]string, len(conflict.Conflicts))
		for i, c := range conflict.Conflicts {
			diffs[i] = fmt.Sprintf("%s is %s there, %s here", c.Field, show(c.Stored), show(c.Requested))
		}
		return w.reject(ctx, r, line, []string{fmt.Sprintf("payment intent %s (externalReference %q) exists with other fields: %s",
			conflict.Existing.ID, conflict.Existing.ExternalReference, strings.Join(diffs, "; "))})
	}
	if err != nil {
		return fmt.Errorf("record %s of batch %s as a payment intent: %w", line, b.ID, err)
	}
	if res.Claim != nil {
		if err := w.enq.Enqueue(ctx, *res.Claim); err != nil {
			w.log.WarnContext(ctx, "enqueue case claim; left to the outbox sweeper", "batch_id", b.ID.String(), "err", err.Error())
		}
	}
	return nil
}

func (w *Worker) reject(ctx context.Context, r db.QueuedLedgerRowsRow, line string, problems []string) error {
	for i, p := range problems {
		problems[i] = line + ": " + p
	}
	errs, _ := json.Marshal(problems)
	if _, err := w.q.RejectLedgerRow(ctx, db.RejectLedgerRowParams{ID: r.ID, Errors: errs}); err != nil {
		return fmt.Errorf("reject ledger row %s: %w", r.ID, err)
	}
	return nil
}

// show is a conflicting value as a message says it.
func show(v any) string {
	switch v := v.(type) {
	case *string:
		if v == nil {
			return "not set"
		}
		return fmt.Sprintf("%q", *v)
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
