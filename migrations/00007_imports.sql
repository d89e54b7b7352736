-- +goose Up
-- File imports. A profile says how to read a CSV (column → canonical field,
-- value mappings, separators, date format); a batch is one uploaded file,
-- parsed by a worker into one raw record per row or statement entry.
CREATE TABLE import_profiles (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    name            text NOT NULL,
    description     text,
    record_type     text NOT NULL CHECK (record_type IN ('bank_statement', 'psp_report', 'onchain_report', 'client_internal_ledger')),
    settings        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_profiles_org ON import_profiles (organization_id, created_at DESC, id DESC);

CREATE TABLE import_batches (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL REFERENCES organizations (id),
    profile_id         uuid REFERENCES import_profiles (id) ON DELETE SET NULL,
    -- The profile as it was when the file came in: editing a profile
    -- later does not change how a queued file is read.
    profile_settings   jsonb,
    record_type        text NOT NULL CHECK (record_type IN ('bank_statement', 'psp_report', 'onchain_report', 'client_internal_ledger')),
    format             text NOT NULL CHECK (format IN ('csv', 'camt.052', 'camt.053', 'camt.054', 'bai2', 'mt940', 'mt942')),
    original_file_name text NOT NULL,
    -- Whether a control total the file states that its entries do not add
    -- up to (a BAI2 trailer, a camt TxsSummry) is a warning rather than the
    -- batch's failure.
    accept_control_mismatch boolean NOT NULL DEFAULT false,
    content_sha256     bytea NOT NULL,
    size_bytes         bigint NOT NULL,
    status             text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    error              text,
    -- Rows stored so far, in file order: a worker that takes the batch
    -- over after a crash skips them (each chunk commits with this count).
    total_rows         integer NOT NULL DEFAULT 0,
    valid_rows         integer NOT NULL DEFAULT 0,
    invalid_rows       integer NOT NULL DEFAULT 0,
    matched_rows       integer NOT NULL DEFAULT 0,
    statements         jsonb NOT NULL DEFAULT '[]',
    -- What the file got wrong without making it unreadable (a BAI2
    -- trailer whose control total does not add up).
    warnings           jsonb NOT NULL DEFAULT '[]',
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    completed_at       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- The same file twice is the same batch.
    UNIQUE (organization_id, content_sha256)
);
CREATE INDEX import_batches_org ON import_batches (organization_id, created_at DESC, id DESC);

-- The file itself, apart from the batch so that reading a batch does not
-- drag megabytes along.
CREATE TABLE import_files (
    batch_id uuid PRIMARY KEY REFERENCES import_batches (id),
    content  bytea NOT NULL
);

-- Rows of a file are raw records like any evidence, with where they stood
-- in the file and whether they were valid. An invalid row is kept (with its
-- reasons) but never matched.
ALTER TABLE raw_records
    ADD COLUMN validation_status text CHECK (validation_status IN ('valid', 'invalid')),
    ADD COLUMN validation_errors jsonb,
    DROP CONSTRAINT raw_records_match_status_check,
    ADD CONSTRAINT raw_records_match_status_check CHECK (match_status IN ('queued', 'matched', 'unmatched', 'ambiguous', 'invalid'));
CREATE UNIQUE INDEX raw_records_batch_row ON raw_records (import_batch_id, row_number) WHERE import_batch_id IS NOT NULL;
-- (source, sourceRef) is how evidence sent to the API is recognized when
-- it is sent again; a file's rows are unique by batch and row already, and
-- maintaining this index for millions of imported rows was a sixth of the
-- cost of storing them.
ALTER TABLE raw_records DROP CONSTRAINT raw_records_organization_id_source_source_ref_key;
CREATE UNIQUE INDEX raw_records_source_ref ON raw_records (organization_id, source, source_ref) WHERE import_batch_id IS NULL;

-- +goose Down
DROP INDEX raw_records_source_ref;
ALTER TABLE raw_records ADD CONSTRAINT raw_records_organization_id_source_source_ref_key UNIQUE (organization_id, source, source_ref);
DROP INDEX raw_records_batch_row;
ALTER TABLE raw_records
    DROP CONSTRAINT raw_records_match_status_check,
    ADD CONSTRAINT raw_records_match_status_check CHECK (match_status IN ('queued', 'matched', 'unmatched', 'ambiguous')),
    DROP COLUMN validation_errors,
    DROP COLUMN validation_status;
DROP TABLE import_files;
DROP TABLE import_batches;
DROP TABLE import_profiles;
