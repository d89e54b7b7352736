-- name: CreateAPIKey :one
INSERT INTO api_keys (organization_id, name, prefix, key_hash, scopes, created_by_user_id, expires_at, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: GetAPIKeyByHash :one
-- Resolves a presented key; the organization's rate limit comes along so the
-- request needs one query for both.
SELECT sqlc.embed(api_keys), organizations.rate_limit_per_minute
FROM api_keys JOIN organizations ON organizations.id = api_keys.organization_id
WHERE api_keys.key_hash = $1;

-- name: GetAPIKey :one
SELECT * FROM api_keys WHERE organization_id = $1 AND id = $2;

-- name: ListAPIKeys :many
SELECT * FROM api_keys
WHERE organization_id = @organization_id AND (created_at, id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountAPIKeys :one
SELECT count(*) FROM api_keys WHERE organization_id = $1;

-- name: UpdateAPIKey :one
UPDATE api_keys SET
    name       = coalesce(sqlc.narg(name), name),
    scopes     = coalesce(sqlc.narg(scopes)::text[], scopes),
    metadata   = coalesce(sqlc.narg(metadata), metadata),
    expires_at = CASE WHEN sqlc.arg(set_expires_at)::boolean THEN sqlc.narg(expires_at) ELSE expires_at END,
    updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING *;

-- name: RevokeAPIKey :one
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING *;

-- name: TouchAPIKeys :exec
-- Batched lastUsedAt: one write per flush, never one per request.
UPDATE api_keys SET last_used_at = sqlc.arg(used_at)::timestamptz
WHERE id = ANY(sqlc.arg(ids)::uuid[]) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(used_at)::timestamptz);
