-- name: ClaimIdempotencyKey :one
-- Inserts a processing record, or takes over one that expired or whose
-- owner's lease ran out. Returns nothing when someone else holds the key or
-- it is completed; the caller then reads it with GetIdempotencyRecord.
INSERT INTO idempotency_records AS r
    (organization_id, operation, key, fingerprint, status, claim_token, locked_until, expires_at)
VALUES ($1, $2, $3, $4, 'processing', $5, now() + make_interval(secs => sqlc.arg(lease_seconds)::float8), now() + make_interval(secs => sqlc.arg(ttl_seconds)::float8))
ON CONFLICT (organization_id, operation, key) DO UPDATE SET
    fingerprint = excluded.fingerprint, status = 'processing', claim_token = excluded.claim_token,
    locked_until = excluded.locked_until, expires_at = excluded.expires_at,
    response_status = NULL, response_body = NULL, created_at = now()
WHERE r.expires_at < now()
   OR (r.status = 'processing' AND r.locked_until < now() AND r.fingerprint = excluded.fingerprint)
RETURNING claim_token;

-- name: GetIdempotencyRecord :one
SELECT * FROM idempotency_records
WHERE organization_id = $1 AND operation = $2 AND key = $3;

-- name: CompleteIdempotencyKey :execrows
UPDATE idempotency_records SET status = 'completed', response_status = $5, response_body = $6
WHERE organization_id = $1 AND operation = $2 AND key = $3 AND claim_token = $4 AND status = 'processing';

-- name: ReleaseIdempotencyKey :exec
DELETE FROM idempotency_records
WHERE organization_id = $1 AND operation = $2 AND key = $3 AND claim_token = $4 AND status = 'processing';

-- name: DeleteExpiredIdempotencyRecords :execrows
DELETE FROM idempotency_records
WHERE ctid IN (SELECT ctid FROM idempotency_records WHERE expires_at < now() LIMIT sqlc.arg(batch)::integer);
