-- +goose Up
-- Outbound webhooks. An endpoint subscribes to event types; the dispatcher
-- turns each recorded event (event_outbox) into one delivery per subscribed
-- endpoint, and every HTTP attempt of a delivery is kept.
CREATE TABLE webhook_endpoints (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id            uuid NOT NULL REFERENCES organizations (id),
    url                        text NOT NULL,
    description                text,
    subscribed_events          text[] NOT NULL,
    status                     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    disabled_reason            text,
    disabled_at                timestamptz,
    -- The signing secret is needed in plaintext to sign; it is shown to the
    -- customer once. After a rotation the previous one keeps signing
    -- alongside it until previous_secret_expires_at.
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    -- Start of the current run of failed attempts (NULL: the last attempt
    -- succeeded); past the configured period the endpoint is disabled.
    failing_since              timestamptz,
    metadata                   jsonb NOT NULL DEFAULT '{}',
    created_by_user_id         text,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (organization_id, created_at DESC, id DESC);
CREATE INDEX webhook_endpoints_active ON webhook_endpoints (organization_id) WHERE status = 'active';

-- An event is rendered once, when it is dispatched: payload is the exact
-- body every endpoint receives. endpoint_id targets one endpoint (a ping).
ALTER TABLE event_outbox
    ADD COLUMN endpoint_id uuid REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    ADD COLUMN payload bytea;

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES event_outbox (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- Every attempt made, scheduled or manual.
    attempt_count   integer NOT NULL DEFAULT 0,
    -- The number of the next scheduled attempt (1 = the first) and when it
    -- is due; a pending delivery overdue by more than a grace period lost
    -- its task and is enqueued again.
    next_attempt    integer NOT NULL DEFAULT 1,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_status_code integer,
    last_error      text,
    succeeded_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Exactly one delivery of an event to an endpoint.
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    delivery_id     uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id),
    number          integer NOT NULL,
    trigger         text NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    outcome         text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'refused')),
    url             text NOT NULL,
    status_code     integer,
    latency_ms      integer NOT NULL,
    response_body   text,
    error           text,
    attempted_at    timestamptz NOT NULL,
    UNIQUE (delivery_id, number)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
ALTER TABLE event_outbox DROP COLUMN payload, DROP COLUMN endpoint_id;
DROP TABLE webhook_endpoints;
