-- +goose Up
-- People who sign in to the web console (/console). A user belongs to one
-- organization, and an email is unique across all of them (case-insensitive)
-- so that signing in needs nothing but the email and the password.
-- password_hash is an argon2id PHC string (internal/consoleauth).
CREATE TABLE console_users (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id      uuid NOT NULL REFERENCES organizations (id),
    email                text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash        text NOT NULL,
    -- Set for a password someone else chose (the admin command's one-time
    -- password): the first sign-in leads to choosing a new one.
    must_change_password boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at      timestamptz,
    disabled_at          timestamptz
);
CREATE UNIQUE INDEX console_users_email ON console_users (lower(email));
CREATE INDEX console_users_org ON console_users (organization_id, created_at DESC, id DESC);

-- One signed-in browser. The cookie carries a random token; only its
-- SHA-256 is stored, so a copy of this table signs nobody in. csrf_token is
-- the synchronizer token every console form of the session carries.
CREATE TABLE console_sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id         uuid NOT NULL REFERENCES console_users (id),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    revoked_at      timestamptz,
    user_agent      text,
    ip              text
);
CREATE INDEX console_sessions_user ON console_sessions (user_id, created_at);

-- +goose Down
DROP TABLE console_sessions;
DROP TABLE console_users;
