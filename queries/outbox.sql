-- name: InsertTaskOutbox :exec
INSERT INTO task_outbox (task_id, task_type, queue, payload, organization_id, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (task_id) DO NOTHING;

-- name: DeleteTaskOutbox :exec
DELETE FROM task_outbox WHERE task_id = $1;

-- name: DueTaskOutbox :many
-- SKIP LOCKED: two sweepers share the work instead of waiting on each other.
SELECT * FROM task_outbox WHERE next_attempt_at <= now()
ORDER BY next_attempt_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: DeferTaskOutbox :exec
UPDATE task_outbox SET attempts = attempts + 1, next_attempt_at = $2 WHERE task_id = $1;

-- name: InsertEventOutboxesMany :exec
-- The events of a batch of case changes in one round trip.
INSERT INTO event_outbox (organization_id, event_type, case_id, sequence, data)
SELECT unnest(@organization_ids::uuid[]), unnest(@event_types::text[]), unnest(@case_ids::uuid[]),
       unnest(@sequences::bigint[]), unnest(@data::text[])::jsonb;

-- name: InsertEventOutbox :exec
-- An event about something other than a case: data is the resource as the
-- API shows it, rendered when the event happens.
INSERT INTO event_outbox (organization_id, event_type, sequence, data)
VALUES (@organization_id, @event_type, 0, @data);
