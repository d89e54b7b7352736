-- +goose Up
-- Every evidence record exactly as it was received. The payload is never
-- edited (a trigger refuses it); match_status and processed_at record what the
-- matcher made of it.
CREATE TABLE raw_records (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    source           text NOT NULL CHECK (source IN ('provider', 'onchain', 'bank', 'file')),
    source_ref       text NOT NULL,
    payload          jsonb NOT NULL,
    import_batch_id  uuid,
    row_number       integer,
    signature_valid  boolean,
    match_status     text NOT NULL DEFAULT 'queued' CHECK (match_status IN ('queued', 'matched', 'unmatched', 'ambiguous')),
    processed_at     timestamptz,
    received_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, source, source_ref)
);

-- Listing evidence (newest first), e.g. what is still unmatched.
CREATE INDEX raw_records_org_received ON raw_records (organization_id, received_at DESC, id DESC);
CREATE INDEX raw_records_open ON raw_records (organization_id, received_at DESC, id DESC)
    WHERE match_status IN ('queued', 'unmatched', 'ambiguous');

-- +goose StatementBegin
CREATE FUNCTION raw_records_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'raw_records are never deleted';
    END IF;
    IF NEW.payload IS DISTINCT FROM OLD.payload OR NEW.source IS DISTINCT FROM OLD.source
       OR NEW.source_ref IS DISTINCT FROM OLD.source_ref OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
       OR NEW.received_at IS DISTINCT FROM OLD.received_at THEN
        RAISE EXCEPTION 'a raw record is immutable: only its match status may change';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER raw_records_immutable BEFORE UPDATE OR DELETE ON raw_records
    FOR EACH ROW EXECUTE FUNCTION raw_records_immutable();

-- A raw record normalized: one leg per record. case_id is the case the leg
-- is attached to (at most one); the active match link says why.
CREATE TABLE flow_legs (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id         uuid NOT NULL REFERENCES organizations (id),
    raw_record_id           uuid NOT NULL UNIQUE REFERENCES raw_records (id),
    case_id                 uuid REFERENCES reconciliation_cases (id),
    type                    text NOT NULL CHECK (type IN ('provider_transfer', 'onchain_transfer', 'bank_settlement', 'file_record')),
    status                  text NOT NULL CHECK (status IN ('pending', 'settled', 'failed', 'reversed')),
    source_status           text NOT NULL,
    identity                text,
    provider                text,
    provider_transfer_id    text,
    tx_hash                 text,
    chain_family            text,
    chain_id                text,
    from_address            text,
    to_address              text,
    bank_account            text,
    bank_reference          text,
    end_to_end_id           text,
    direction               text,
    amount                  numeric(38, 18) NOT NULL,
    currency                text NOT NULL,
    destination_amount      numeric(38, 18),
    destination_currency    text,
    fx_rate                 numeric(38, 18),
    provider_fee            numeric(38, 18),
    network_fee             numeric(38, 18),
    developer_fee           numeric(38, 18),
    payment_intent_id       uuid,
    external_reference      text,
    -- Every reference-like token of the evidence (references[].value,
    -- end-to-end id, bank reference, words of the remittance text).
    reference_values        text[] NOT NULL DEFAULT '{}',
    occurred_at             timestamptz NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flow_legs_case ON flow_legs (case_id) WHERE case_id IS NOT NULL;
-- Legs no case has claimed, by every key a payment intent created later can
-- claim them with.
CREATE INDEX flow_legs_free_external_reference ON flow_legs (organization_id, external_reference)
    WHERE case_id IS NULL AND external_reference IS NOT NULL;
CREATE INDEX flow_legs_free_intent ON flow_legs (organization_id, payment_intent_id)
    WHERE case_id IS NULL AND payment_intent_id IS NOT NULL;
CREATE INDEX flow_legs_free_provider_transfer ON flow_legs (organization_id, provider_transfer_id)
    WHERE case_id IS NULL AND provider_transfer_id IS NOT NULL;
CREATE INDEX flow_legs_free_tx_hash ON flow_legs (organization_id, lower(tx_hash))
    WHERE case_id IS NULL AND tx_hash IS NOT NULL;
CREATE INDEX flow_legs_free_references ON flow_legs USING gin (reference_values) WHERE case_id IS NULL;
CREATE INDEX flow_legs_free_amount ON flow_legs (organization_id, currency, amount) WHERE case_id IS NULL;

-- Why a leg belongs to a case. active: the leg is attached; suggested: the
-- leg could belong to this case but also to another (a person decides);
-- unlinked / dismissed: history.
CREATE TABLE match_links (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    case_id          uuid NOT NULL REFERENCES reconciliation_cases (id),
    flow_leg_id      uuid NOT NULL REFERENCES flow_legs (id),
    raw_record_id    uuid NOT NULL REFERENCES raw_records (id),
    status           text NOT NULL CHECK (status IN ('active', 'suggested', 'unlinked', 'dismissed')),
    strategy         text NOT NULL CHECK (strategy IN ('explicit_id', 'provider_id', 'tx_hash', 'reference_exact',
                     'amount_time_window', 'manual')),
    score            numeric(5, 4) NOT NULL CHECK (score BETWEEN 0 AND 1),
    reason           text NOT NULL,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    ended_by         text
);
-- A leg attaches to at most one case, whatever races happen.
CREATE UNIQUE INDEX match_links_one_active ON match_links (flow_leg_id) WHERE status = 'active';
CREATE INDEX match_links_case ON match_links (case_id, created_at);
CREATE INDEX match_links_suggested ON match_links (flow_leg_id) WHERE status = 'suggested';

-- Intent references as a flat array, so exact-reference matching is an
-- index lookup.
ALTER TABLE payment_intents ADD COLUMN reference_values text[] NOT NULL DEFAULT '{}';
-- fastupdate off: lookups happen per evidence record and must not scan a
-- pending list; intents are written far less often than they are searched.
CREATE INDEX payment_intents_reference_values ON payment_intents USING gin (reference_values) WITH (fastupdate = off);
-- auto_resolved: the matcher resolved the case, so a later reversal may
-- reopen it; a case resolved by hand stays resolved.
ALTER TABLE reconciliation_cases ADD COLUMN auto_resolved boolean NOT NULL DEFAULT false;
-- Amount-and-window candidates: open cases by currency and amount.
CREATE INDEX reconciliation_cases_open_amount ON reconciliation_cases (organization_id, expected_currency, expected_amount)
    WHERE status = 'open';

-- Transactional outbox for asynq tasks: a row is written with the work it
-- announces and deleted by the task's handler, in the handler's own
-- transaction. The sweeper enqueues rows still here after next_attempt_at, so
-- work accepted while Redis was down (or wiped) is never lost.
CREATE TABLE task_outbox (
    task_id          text PRIMARY KEY,
    task_type        text NOT NULL,
    queue            text NOT NULL,
    payload          bytea NOT NULL,
    organization_id  uuid REFERENCES organizations (id),
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL
);
CREATE INDEX task_outbox_due ON task_outbox (next_attempt_at);

-- Events for webhook consumers, recorded with the change they announce.
-- sequence is the case version, so consumers can drop stale updates.
CREATE TABLE event_outbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    event_type       text NOT NULL,
    case_id          uuid,
    sequence         bigint NOT NULL,
    data             jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    dispatched_at    timestamptz
);
CREATE INDEX event_outbox_pending ON event_outbox (created_at) WHERE dispatched_at IS NULL;
CREATE INDEX event_outbox_case ON event_outbox (case_id, sequence) WHERE case_id IS NOT NULL;

-- +goose Down
DROP TABLE event_outbox;
DROP TABLE task_outbox;
DROP INDEX reconciliation_cases_open_amount;
ALTER TABLE reconciliation_cases DROP COLUMN auto_resolved;
DROP INDEX payment_intents_reference_values;
ALTER TABLE payment_intents DROP COLUMN reference_values;
DROP TABLE match_links;
DROP TABLE flow_legs;
DROP TRIGGER raw_records_immutable ON raw_records;
DROP FUNCTION raw_records_immutable();
DROP TABLE raw_records;
