-- name: CreateOrganization :one
INSERT INTO organizations (name) VALUES ($1)
RETURNING *;

-- name: GetOrganization :one
SELECT * FROM organizations WHERE id = $1;

-- name: SetOrganizationRateLimit :one
UPDATE organizations SET rate_limit_per_minute = sqlc.narg(rate_limit_per_minute), updated_at = now()
WHERE id = $1
RETURNING *;
