-- +goose Up
-- Ledger reconciliation runs (seed 003): the book side — ledgers, their
-- accounts and general-ledger entries — reconciled against bank statement
-- files in runs. A run's statement lines are its items; matches link items
-- to GL entries; what cannot be matched becomes a discrepancy.
CREATE TABLE ledgers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    name            text NOT NULL,
    description     text,
    currency        text,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledgers_org ON ledgers (organization_id, created_at DESC, id DESC);

CREATE TABLE ledger_accounts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    ledger_id       uuid NOT NULL REFERENCES ledgers (id),
    name            text NOT NULL,
    -- The account's code in the chart of accounts ("1200"); GL entries and
    -- uploaded entry files name accounts by it.
    code            text NOT NULL,
    currency        text NOT NULL,
    normal_balance  text NOT NULL DEFAULT 'debit' CHECK (normal_balance IN ('debit', 'credit')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ledger_id, code)
);
CREATE INDEX ledger_accounts_org ON ledger_accounts (organization_id, ledger_id, code);

CREATE TABLE ledger_entries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    ledger_id       uuid NOT NULL REFERENCES ledgers (id),
    account_id      uuid NOT NULL REFERENCES ledger_accounts (id),
    direction       text NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount          numeric NOT NULL CHECK (amount > 0),
    currency        text NOT NULL,
    booking_date    date NOT NULL,
    reference       text,
    description     text,
    external_id     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ledger_id, external_id)
);
CREATE INDEX ledger_entries_account_date ON ledger_entries (account_id, booking_date, id);
CREATE INDEX ledger_entries_ledger_date ON ledger_entries (ledger_id, booking_date, id);

CREATE TABLE ledger_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    ledger_id       uuid NOT NULL REFERENCES ledgers (id),
    -- The GL account the statements are of (the bank account's); null:
    -- every account of the ledger.
    account_id      uuid REFERENCES ledger_accounts (id),
    mode            text NOT NULL CHECK (mode IN ('manual', 'automatic')),
    source_type     text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'closed')),
    note            text,
    idempotency_key text,
    window_days     integer NOT NULL DEFAULT 3,
    matched_count   integer NOT NULL DEFAULT 0,
    error           text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    deleted_at      timestamptz
);
CREATE INDEX ledger_runs_org ON ledger_runs (organization_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- A deleted run frees its key.
CREATE UNIQUE INDEX ledger_runs_idempotency ON ledger_runs (organization_id, idempotency_key) WHERE idempotency_key IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE ledger_run_sources (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    run_id          uuid NOT NULL REFERENCES ledger_runs (id),
    file_name       text NOT NULL,
    format          text NOT NULL CHECK (format IN ('csv', 'camt.052', 'camt.053', 'camt.054', 'bai2', 'mt940', 'mt942')),
    -- pending until the worker has parsed it (seed 003 names only the
    -- outcomes, processed and failed).
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'failed')),
    content_sha256  bytea NOT NULL,
    size_bytes      bigint NOT NULL,
    idempotency_key text,
    imported        integer NOT NULL DEFAULT 0,
    statements      jsonb NOT NULL DEFAULT '[]',
    error           text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    UNIQUE (run_id, content_sha256)
);
CREATE INDEX ledger_run_sources_run ON ledger_run_sources (run_id, created_at, id);

CREATE TABLE ledger_run_files (
    source_id uuid PRIMARY KEY REFERENCES ledger_run_sources (id) ON DELETE CASCADE,
    content   bytea NOT NULL
);

-- The tables below take a million rows per run in one COPY. Their
-- references (to the run, the source, the match, the line, the GL entry)
-- are kept by the code that writes them — the rows are written from rows
-- just read in the same transaction, and deletes go through queries that
-- remove dependents first — not by foreign keys: a foreign key is a
-- trigger per row, and checking them was most of the cost of storing
-- matches (5 of 7.6 s for 100,000 lines).

-- A run's statement lines. Their match status is not stored: it follows
-- from their active match and closure (see the items query), so matching a
-- million lines writes matches and nothing else.
CREATE TABLE ledger_run_items (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    run_id          uuid NOT NULL,
    source_id       uuid NOT NULL,
    row_number      integer NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('credit', 'debit')),
    amount          numeric NOT NULL,
    currency        text NOT NULL,
    booking_date    date NOT NULL,
    value_date      date,
    status          text NOT NULL,
    reference       text,
    end_to_end_id   text,
    counterparty    text,
    description     text,
    closed_at       timestamptz,
    close_reason    text,
    close_note      text,
    closed_by       text
);
CREATE INDEX ledger_run_items_run ON ledger_run_items (run_id, booking_date, id);
CREATE INDEX ledger_run_items_source ON ledger_run_items (source_id);

CREATE TABLE ledger_matches (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    run_id          uuid NOT NULL,
    status          text NOT NULL CHECK (status IN ('suggested', 'accepted', 'rejected')),
    kind            text NOT NULL CHECK (kind IN ('auto', 'manual')),
    strategy        text NOT NULL,
    score           double precision NOT NULL,
    reason          text NOT NULL,
    note            text,
    amount          numeric NOT NULL,
    currency        text NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    decided_by      text
);
CREATE INDEX ledger_matches_run ON ledger_matches (run_id, created_at, id);

-- The sides of a match. active mirrors the match's status (suggested or
-- accepted): an item and a GL entry are in at most one active match, in
-- any run.
CREATE TABLE ledger_match_members (
    match_id        uuid NOT NULL,
    run_id          uuid NOT NULL,
    item_id         uuid,
    entry_id        uuid,
    active          boolean NOT NULL DEFAULT true,
    CHECK ((item_id IS NULL) <> (entry_id IS NULL))
);
CREATE UNIQUE INDEX ledger_match_members_item ON ledger_match_members (item_id) WHERE active AND item_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_match_members_entry ON ledger_match_members (entry_id) WHERE active AND entry_id IS NOT NULL;
CREATE INDEX ledger_match_members_match ON ledger_match_members (match_id);

CREATE TABLE ledger_discrepancies (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    run_id          uuid NOT NULL,
    type            text NOT NULL CHECK (type IN ('amount_mismatch', 'missing_in_ledger', 'missing_in_statement', 'duplicate', 'date_mismatch', 'balance_mismatch')),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_review', 'closed')),
    item_ids        uuid[] NOT NULL DEFAULT '{}',
    entry_ids       uuid[] NOT NULL DEFAULT '{}',
    amount          numeric,
    currency        text,
    message         text NOT NULL,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_discrepancies_run ON ledger_discrepancies (run_id, created_at, id);

ALTER TABLE audit_events ADD COLUMN ledger_run_id uuid;
CREATE INDEX audit_events_ledger_run ON audit_events (ledger_run_id, occurred_at) WHERE ledger_run_id IS NOT NULL;

-- +goose Down
DROP INDEX audit_events_ledger_run;
ALTER TABLE audit_events DROP COLUMN ledger_run_id;
DROP TABLE ledger_discrepancies;
DROP TABLE ledger_match_members;
DROP TABLE ledger_matches;
DROP TABLE ledger_run_items;
DROP TABLE ledger_run_files;
DROP TABLE ledger_run_sources;
DROP TABLE ledger_runs;
DROP TABLE ledger_entries;
DROP TABLE ledger_accounts;
DROP TABLE ledgers;
