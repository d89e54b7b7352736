-- name: CreateConsoleUser :one
INSERT INTO console_users (organization_id, email, password_hash, must_change_password)
VALUES (@organization_id, @email, @password_hash, @must_change_password)
RETURNING *;

-- name: GetConsoleUserByEmail :one
-- Emails are unique whatever their case (console_users_email).
SELECT * FROM console_users WHERE lower(email) = lower(@email::text);

-- name: GetConsoleUser :one
SELECT * FROM console_users WHERE organization_id = @organization_id AND id = @id;

-- name: SetConsoleUserPassword :one
UPDATE console_users
SET password_hash = @password_hash, must_change_password = @must_change_password, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: RecordConsoleSignIn :exec
UPDATE console_users SET last_sign_in_at = @now::timestamptz WHERE id = @id;

-- name: DisableConsoleUser :one
UPDATE console_users SET disabled_at = coalesce(disabled_at, now()), updated_at = now()
WHERE organization_id = @organization_id AND id = @id
RETURNING *;

-- name: ConsoleUserEmails :many
-- The emails behind "user:<id>" audit actors of one organization.
SELECT id, email FROM console_users WHERE organization_id = @organization_id AND id = ANY(@ids::uuid[]);

-- name: CreateConsoleSession :one
INSERT INTO console_sessions (token_hash, user_id, organization_id, csrf_token, created_at, expires_at, last_seen_at, user_agent, ip)
VALUES (@token_hash, @user_id, @organization_id, @csrf_token, @now::timestamptz, @expires_at::timestamptz, @now::timestamptz,
        sqlc.narg(user_agent), sqlc.narg(ip))
RETURNING *;

-- name: GetConsoleSession :one
-- The live session a cookie's token names, with what every console page
-- shows of its user and organization. Past its absolute or idle expiry,
-- revoked, or its user disabled: no row.
SELECT sqlc.embed(s), u.email, u.must_change_password, o.name AS organization_name
FROM console_sessions s
JOIN console_users u ON u.id = s.user_id AND u.organization_id = s.organization_id
JOIN organizations o ON o.id = s.organization_id
WHERE s.token_hash = @token_hash AND s.revoked_at IS NULL
  AND s.expires_at > @now::timestamptz AND s.last_seen_at > @idle_since::timestamptz
  AND u.disabled_at IS NULL;

-- name: TouchConsoleSession :exec
UPDATE console_sessions SET last_seen_at = @now::timestamptz
WHERE id = @id AND last_seen_at < @now::timestamptz;

-- name: RevokeConsoleSession :execrows
UPDATE console_sessions SET revoked_at = @now::timestamptz WHERE id = @id AND revoked_at IS NULL;

-- name: RevokeConsoleUserSessions :execrows
-- Every live session of a user but keep_id's (uuid.Nil keeps none).
UPDATE console_sessions SET revoked_at = @now::timestamptz
WHERE user_id = @user_id AND id <> @keep_id::uuid AND revoked_at IS NULL;

-- name: PruneConsoleSessions :exec
-- A user's sessions dead since before @before, dropped at each sign-in so
-- that the table holds a bounded number per user without a sweeper.
DELETE FROM console_sessions
WHERE user_id = @user_id AND (expires_at < @before::timestamptz OR revoked_at < @before::timestamptz);
