-- +goose Up
-- Per-organization request budget; NULL means the process default.
ALTER TABLE organizations ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0);

-- API keys: only the SHA-256 of the key is stored; the plaintext exists in the
-- create response and nowhere else. Status is derived from expires_at/revoked_at.
CREATE TABLE api_keys (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL REFERENCES organizations (id),
    name               text NOT NULL,
    prefix             text NOT NULL,
    key_hash           bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    scopes             text[] NOT NULL,
    created_by_user_id text,
    last_used_at       timestamptz,
    expires_at         timestamptz,
    revoked_at         timestamptz,
    metadata           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_org_created ON api_keys (organization_id, created_at DESC, id DESC);

-- Idempotency records (DESIGN §3). A record is claimed as 'processing' under a
-- lease, and completed in the same transaction as the write it guards, so a
-- stored response always matches a committed write.
CREATE TABLE idempotency_records (
    organization_id uuid NOT NULL REFERENCES organizations (id),
    operation       text NOT NULL,
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint     bytea NOT NULL,
    status          text NOT NULL CHECK (status IN ('processing', 'completed')),
    claim_token     uuid NOT NULL,
    locked_until    timestamptz NOT NULL,
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, operation, key)
);
CREATE INDEX idempotency_records_expires ON idempotency_records (expires_at);

-- +goose Down
DROP TABLE idempotency_records;
DROP TABLE api_keys;
ALTER TABLE organizations DROP COLUMN rate_limit_per_minute;
