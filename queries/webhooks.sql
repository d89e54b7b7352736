-- name: CreateWebhookEndpoint :one
INSERT INTO webhook_endpoints (organization_id, url, description, subscribed_events, secret, metadata, created_by_user_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: GetWebhookEndpoint :one
SELECT * FROM webhook_endpoints WHERE organization_id = $1 AND id = $2;

-- name: ListWebhookEndpoints :many
SELECT * FROM webhook_endpoints
WHERE organization_id = @organization_id AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountWebhookEndpoints :one
SELECT count(*) FROM webhook_endpoints
WHERE organization_id = @organization_id AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status));

-- name: UpdateWebhookEndpoint :one
-- Re-enabling an endpoint forgets its failures; disabling it by hand says so.
UPDATE webhook_endpoints SET
    url               = coalesce(sqlc.narg(url), url),
    description       = CASE WHEN sqlc.arg(set_description)::boolean THEN sqlc.narg(description) ELSE description END,
    subscribed_events = coalesce(sqlc.narg(subscribed_events)::text[], subscribed_events),
    metadata          = coalesce(sqlc.narg(metadata), metadata),
    status            = coalesce(sqlc.narg(status), status),
    disabled_reason   = CASE sqlc.narg(status)::text
                            WHEN 'active' THEN NULL
                            WHEN 'disabled' THEN CASE WHEN status = 'active' THEN 'Disabled by a user.' ELSE disabled_reason END
                            ELSE disabled_reason END,
    disabled_at       = CASE sqlc.narg(status)::text
                            WHEN 'active' THEN NULL
                            WHEN 'disabled' THEN coalesce(disabled_at, now())
                            ELSE disabled_at END,
    failing_since     = CASE WHEN sqlc.narg(status)::text = 'active' THEN NULL ELSE failing_since END,
    updated_at        = now()
WHERE organization_id = $1 AND id = $2
RETURNING *;

-- name: DeleteWebhookEndpoint :one
DELETE FROM webhook_endpoints WHERE organization_id = $1 AND id = $2 RETURNING *;

-- name: RotateWebhookSecret :one
UPDATE webhook_endpoints SET
    previous_secret = secret, previous_secret_expires_at = @previous_expires_at::timestamptz,
    secret = @secret, updated_at = now()
WHERE organization_id = @organization_id AND id = @id
RETURNING *;

-- name: ClaimUndispatchedEvents :many
-- SKIP LOCKED: dispatchers in several workers share the backlog.
SELECT id, organization_id, event_type, case_id, data, created_at FROM event_outbox
WHERE dispatched_at IS NULL
ORDER BY created_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: ActiveWebhookEndpoints :many
SELECT id, organization_id, subscribed_events FROM webhook_endpoints
WHERE organization_id = ANY(@organization_ids::uuid[]) AND status = 'active';

-- name: MarkEventsDispatched :exec
-- payload is NULL for an event no endpoint wanted.
UPDATE event_outbox e SET dispatched_at = now(), payload = u.payload
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@payloads::bytea[]) AS payload) u
WHERE e.id = u.id;

-- name: InsertWebhookDeliveries :many
INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_id, event_type, next_attempt_at)
SELECT unnest(@organization_ids::uuid[]), unnest(@endpoint_ids::uuid[]), unnest(@event_ids::uuid[]),
       unnest(@event_types::text[]), now()
ON CONFLICT (event_id, endpoint_id) DO NOTHING
RETURNING id;

-- name: InsertDispatchedEvent :one
-- An event for one endpoint (a ping), rendered by its sender.
INSERT INTO event_outbox (id, organization_id, event_type, sequence, data, endpoint_id, payload, created_at, dispatched_at)
VALUES (@id, @organization_id, @event_type, 0, '{}', @endpoint_id, @payload, @created_at, @created_at)
RETURNING id;

-- name: GetDeliveryForSend :one
SELECT d.id, d.organization_id, d.endpoint_id, d.event_id, d.event_type, d.status, d.next_attempt, d.next_attempt_at,
       e.url, e.status AS endpoint_status, e.secret, e.previous_secret, e.previous_secret_expires_at,
       e.failing_since, ev.payload
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id
JOIN event_outbox ev ON ev.id = d.event_id
WHERE d.id = $1;

-- name: RecordWebhookAttempt :one
-- Applies an attempt's outcome to its delivery, guarded by the state it was
-- decided from (no row: the delivery changed meanwhile; decide again), and
-- stores the attempt, numbered in the order attempts are recorded.
WITH d AS (
    UPDATE webhook_deliveries SET
        attempt_count    = attempt_count + 1,
        status           = @status,
        next_attempt     = @next_attempt,
        next_attempt_at  = sqlc.narg(next_attempt_at),
        last_attempt_at  = @attempted_at,
        last_status_code = sqlc.narg(status_code),
        last_error       = sqlc.narg(error),
        succeeded_at     = CASE WHEN @status::text = 'succeeded' THEN coalesce(succeeded_at, @attempted_at) ELSE succeeded_at END,
        updated_at       = now()
    WHERE webhook_deliveries.id = @id AND webhook_deliveries.status = @seen_status
      AND webhook_deliveries.next_attempt = @seen_next_attempt
    RETURNING webhook_deliveries.id, webhook_deliveries.organization_id, webhook_deliveries.attempt_count
)
INSERT INTO webhook_attempts (delivery_id, organization_id, number, trigger, outcome, url, status_code,
                              latency_ms, response_body, error, attempted_at)
SELECT d.id, d.organization_id, d.attempt_count, @trigger, @outcome, @url, sqlc.narg(status_code),
       @latency_ms, sqlc.narg(response_body), sqlc.narg(error), @attempted_at
FROM d
RETURNING number;

-- name: FailWebhookDelivery :exec
-- Ends a pending delivery without an attempt (its endpoint is disabled).
UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = @error::text, updated_at = now()
WHERE id = @id AND status = 'pending';

-- name: WebhookEndpointSucceeded :exec
UPDATE webhook_endpoints SET failing_since = NULL, updated_at = now()
WHERE id = $1 AND failing_since IS NOT NULL;

-- name: WebhookEndpointFailed :one
-- Returns since when the endpoint has been failing without a success.
UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, @at::timestamptz), updated_at = now()
WHERE id = @id
RETURNING failing_since;

-- name: DisableWebhookEndpoint :execrows
UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = @reason::text, disabled_at = now(), updated_at = now()
WHERE id = @id AND status = 'active';

-- name: OverdueWebhookDeliveries :many
SELECT id, next_attempt FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= @before::timestamptz
ORDER BY next_attempt_at
LIMIT @lim;

-- name: GetWebhookDelivery :one
SELECT sqlc.embed(d), ev.payload
FROM webhook_deliveries d JOIN event_outbox ev ON ev.id = d.event_id
WHERE d.organization_id = $1 AND d.id = $2;

-- name: ListWebhookDeliveries :many
SELECT sqlc.embed(d), ev.payload
FROM webhook_deliveries d JOIN event_outbox ev ON ev.id = d.event_id
WHERE d.organization_id = @organization_id AND d.endpoint_id = @endpoint_id
  AND (sqlc.narg(status)::text IS NULL OR d.status = sqlc.narg(status))
  AND (sqlc.narg(event_type)::text IS NULL OR d.event_type = sqlc.narg(event_type))
  AND (d.created_at, d.id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY d.created_at DESC, d.id DESC
LIMIT @lim OFFSET @off;

-- name: CountWebhookDeliveries :one
SELECT count(*) FROM webhook_deliveries d
WHERE d.organization_id = @organization_id AND d.endpoint_id = @endpoint_id
  AND (sqlc.narg(status)::text IS NULL OR d.status = sqlc.narg(status))
  AND (sqlc.narg(event_type)::text IS NULL OR d.event_type = sqlc.narg(event_type));

-- name: ListWebhookAttemptsForDeliveries :many
SELECT a.* FROM webhook_attempts a JOIN unnest(@ids::uuid[]) AS ids (id) ON a.delivery_id = ids.id
ORDER BY a.delivery_id, a.number;
