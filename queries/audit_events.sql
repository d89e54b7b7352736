-- name: InsertAuditEvent :one
INSERT INTO audit_events (organization_id, payment_intent_id, case_id, raw_record_id, import_batch_id, ledger_run_id, event_type, actor, payload, message)
VALUES (@organization_id, @payment_intent_id, @case_id, @raw_record_id, @import_batch_id, @ledger_run_id, @event_type, @actor, @payload, @message)
RETURNING *;

-- name: AuditEventsForCases :many
-- One query for a page of cases (reads and exports never ask per case). The
-- ids travel as text: pgx encodes a uuid[] of google/uuid values element by
-- element through driver.Valuer, which cost the export 8% of its CPU. The ids
-- are joined, not filtered with = ANY: with a thousand ids the planner costs
-- the filter as a sequential scan of every event of every case, a scan per
-- export page that grows with the table; the join probes the case index.
SELECT a.* FROM unnest(CAST(sqlc.arg(case_ids)::text[] AS uuid[])) AS k(case_id)
JOIN audit_events a ON a.case_id = k.case_id
WHERE a.organization_id = @organization_id
ORDER BY a.case_id, a.occurred_at, a.id;

-- name: AuditEventsForIntent :many
SELECT * FROM audit_events
WHERE organization_id = $1 AND payment_intent_id = $2
ORDER BY occurred_at, id;

-- name: ListAuditEvents :many
SELECT * FROM audit_events
WHERE organization_id = @organization_id
  AND (sqlc.narg(case_id)::uuid IS NULL OR case_id = sqlc.narg(case_id))
  AND (sqlc.narg(payment_intent_id)::uuid IS NULL OR payment_intent_id = sqlc.narg(payment_intent_id))
  AND (sqlc.narg(event_type)::text IS NULL OR event_type = sqlc.narg(event_type))
  AND (sqlc.narg(occurred_from)::timestamptz IS NULL OR occurred_at >= sqlc.narg(occurred_from))
  AND (sqlc.narg(occurred_to)::timestamptz IS NULL OR occurred_at < sqlc.narg(occurred_to))
  AND (occurred_at, id) < (@after_occurred_at::timestamptz, @after_id::uuid)
ORDER BY occurred_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountAuditEvents :one
SELECT count(*) FROM audit_events
WHERE organization_id = @organization_id
  AND (sqlc.narg(case_id)::uuid IS NULL OR case_id = sqlc.narg(case_id))
  AND (sqlc.narg(payment_intent_id)::uuid IS NULL OR payment_intent_id = sqlc.narg(payment_intent_id))
  AND (sqlc.narg(event_type)::text IS NULL OR event_type = sqlc.narg(event_type))
  AND (sqlc.narg(occurred_from)::timestamptz IS NULL OR occurred_at >= sqlc.narg(occurred_from))
  AND (sqlc.narg(occurred_to)::timestamptz IS NULL OR occurred_at < sqlc.narg(occurred_to));

-- name: InsertAuditEvents :exec
-- Several events of one transaction in one round trip, in order (occurred_at
-- is clock_timestamp(), taken row by row). Optional ids travel as text ('' for
-- none) and payloads as text ('' for none): arrays of nullable uuids and
-- jsonb are what pgx encodes slowest.
INSERT INTO audit_events (organization_id, payment_intent_id, case_id, raw_record_id, event_type, actor, payload, message)
SELECT unnest(@organization_ids::uuid[]), nullif(unnest(@payment_intent_ids::text[]), '')::uuid,
       nullif(unnest(@case_ids::text[]), '')::uuid, nullif(unnest(@raw_record_ids::text[]), '')::uuid,
       unnest(@event_types::text[]), unnest(@actors::text[]), nullif(unnest(@payloads::text[]), '')::jsonb,
       unnest(@messages::text[]);
