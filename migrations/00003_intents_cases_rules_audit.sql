-- +goose Up
-- Reconciliation rules choose how evidence is matched and judged. A case keeps
-- a snapshot of the rule it was opened under, so editing a rule never rewrites
-- history; rule_id NULL on a case means the built-in default rule.
CREATE TABLE reconciliation_rules (
    id                                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id                       uuid NOT NULL REFERENCES organizations (id),
    name                                  text NOT NULL,
    priority                              integer NOT NULL DEFAULT 100,
    payment_type                          text CHECK (payment_type IN ('stablecoin', 'bank', 'cross_border', 'other')),
    source_type                           text CHECK (source_type IN ('provider', 'onchain', 'bank', 'file')),
    is_active                             boolean NOT NULL DEFAULT true,
    amount_tolerance                      numeric(38, 18) NOT NULL DEFAULT 0 CHECK (amount_tolerance >= 0),
    amount_tolerance_bps                  integer NOT NULL DEFAULT 0 CHECK (amount_tolerance_bps BETWEEN 0 AND 10000),
    time_window_minutes                   integer NOT NULL CHECK (time_window_minutes > 0),
    allow_explicit_id_match               boolean NOT NULL DEFAULT true,
    allow_provider_id_match               boolean NOT NULL DEFAULT true,
    allow_tx_hash_match                   boolean NOT NULL DEFAULT true,
    allow_reference_exact_match           boolean NOT NULL DEFAULT true,
    allow_amount_and_time_window_match    boolean NOT NULL DEFAULT true,
    required_leg_types                    text[] NOT NULL,
    require_all_required_legs             boolean NOT NULL DEFAULT true,
    expected_completion_minutes           integer NOT NULL CHECK (expected_completion_minutes > 0),
    sla_risk_threshold_percent            integer NOT NULL CHECK (sla_risk_threshold_percent BETWEEN 1 AND 100),
    delayed_settlement_threshold_minutes  integer NOT NULL CHECK (delayed_settlement_threshold_minutes > 0),
    deleted_at                            timestamptz,
    created_at                            timestamptz NOT NULL DEFAULT now(),
    updated_at                            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_rules_pick ON reconciliation_rules (organization_id, priority, created_at)
    WHERE deleted_at IS NULL AND is_active;
CREATE INDEX reconciliation_rules_org_created ON reconciliation_rules (organization_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE payment_intents (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id         uuid NOT NULL REFERENCES organizations (id),
    external_reference      text NOT NULL,
    source_amount           numeric(38, 18) NOT NULL,
    source_currency         text NOT NULL,
    destination_amount      numeric(38, 18) NOT NULL,
    destination_currency    text NOT NULL,
    payment_type            text NOT NULL CHECK (payment_type IN ('stablecoin', 'bank', 'cross_border', 'other')),
    payment_subtype         text,
    direction               text NOT NULL CHECK (direction IN ('debit', 'credit')),
    stablecoin              text,
    chain                   text,
    beneficiary_account     text,
    beneficiary_name        text,
    expected_fx_rate        numeric(38, 18),
    developer_fee_expected  numeric(38, 18),
    provider_transfer_id    text,
    tx_hash                 text,
    client_completed_at     timestamptz,
    "references"            jsonb NOT NULL DEFAULT '[]',
    metadata                jsonb NOT NULL DEFAULT '{}',
    status                  text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'reversed')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, external_reference)
);
CREATE INDEX payment_intents_org_created ON payment_intents (organization_id, created_at DESC, id DESC);
CREATE INDEX payment_intents_provider_transfer ON payment_intents (organization_id, provider_transfer_id)
    WHERE provider_transfer_id IS NOT NULL;
CREATE INDEX payment_intents_tx_hash ON payment_intents (organization_id, lower(tx_hash)) WHERE tx_hash IS NOT NULL;

-- The rule a case was opened under, as it was then: cases keep evaluating
-- under it after the rule is edited. Identical snapshots are stored once per
-- organization (a million cases under one rule share one row).
CREATE TABLE rule_snapshots (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    digest           bytea NOT NULL CHECK (length(digest) = 32),
    snapshot         jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, digest)
);

-- One case per intent. Amounts and deltas are written by evaluation; version
-- increases with every change (webhook consumers order updates by it).
CREATE TABLE reconciliation_cases (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id        uuid NOT NULL REFERENCES organizations (id),
    payment_intent_id      uuid NOT NULL UNIQUE REFERENCES payment_intents (id),
    status                 text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'archived')),
    reconciliation_status  text NOT NULL DEFAULT 'unreconciled'
                           CHECK (reconciliation_status IN ('unreconciled', 'tentatively_reconciled', 'reconciled')),
    verdict                text CHECK (verdict IN ('matched', 'matched_with_exception', 'needs_review', 'unreconciled', 'sla_risk', 'delayed')),
    exception_type         text CHECK (exception_type IN ('amount_mismatch', 'missing_leg', 'fee_out_of_tolerance', 'fx_variance',
                           'duplicate_evidence', 'conflicting_status', 'currency_mismatch', 'timing_delay', 'ambiguous_match')),
    expected_amount        numeric(38, 18) NOT NULL,
    expected_currency      text NOT NULL,
    actual_amount          numeric(38, 18),
    unexplained_delta      numeric(38, 18),
    provider_fee           numeric(38, 18),
    network_fee            numeric(38, 18),
    developer_fee          numeric(38, 18),
    fx_spread              numeric(38, 18),
    rounding_delta         numeric(38, 18),
    sla_risk               boolean NOT NULL DEFAULT false,
    required_legs_total    integer NOT NULL,
    required_legs_present  integer NOT NULL DEFAULT 0,
    -- evidenceCoverage per kind of evidence (the intent itself is always present).
    coverage_provider      text NOT NULL CHECK (coverage_provider IN ('present', 'pending', 'missing', 'failed', 'not_required')),
    coverage_chain         text NOT NULL CHECK (coverage_chain IN ('present', 'pending', 'missing', 'failed', 'not_required')),
    coverage_bank          text NOT NULL CHECK (coverage_bank IN ('present', 'pending', 'missing', 'failed', 'not_required')),
    coverage_file          text NOT NULL CHECK (coverage_file IN ('present', 'pending', 'missing', 'failed', 'not_required')),
    notes                  text,
    rule_id                uuid REFERENCES reconciliation_rules (id),
    rule_snapshot_id       uuid NOT NULL REFERENCES rule_snapshots (id),
    version                bigint NOT NULL DEFAULT 1,
    resolved_at            timestamptz,
    reconciled_at          timestamptz,
    last_run_at            timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_cases_org_created ON reconciliation_cases (organization_id, created_at DESC, id DESC);
CREATE INDEX reconciliation_cases_open ON reconciliation_cases (organization_id, status) WHERE status = 'open';

-- The legs a case needs before it can reconcile, from its rule.
CREATE TABLE required_legs (
    case_id          uuid NOT NULL REFERENCES reconciliation_cases (id),
    leg_type         text NOT NULL CHECK (leg_type IN ('provider_transfer', 'onchain_transfer', 'bank_settlement', 'file_record')),
    organization_id  uuid NOT NULL REFERENCES organizations (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, leg_type)
);

-- Append-only trail of everything that happened to intents, cases and evidence.
CREATE TABLE audit_events (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL REFERENCES organizations (id),
    payment_intent_id  uuid,
    case_id            uuid,
    raw_record_id      uuid,
    import_batch_id    uuid,
    event_type         text NOT NULL,
    actor              text NOT NULL,
    payload            jsonb,
    message            text NOT NULL,
    occurred_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_events_org_time ON audit_events (organization_id, occurred_at DESC, id DESC);
CREATE INDEX audit_events_case ON audit_events (case_id, occurred_at) WHERE case_id IS NOT NULL;
CREATE INDEX audit_events_intent ON audit_events (payment_intent_id, occurred_at) WHERE payment_intent_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE required_legs;
DROP TABLE reconciliation_cases;
DROP TABLE rule_snapshots;
DROP TABLE payment_intents;
DROP TABLE reconciliation_rules;
