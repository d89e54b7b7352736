-- +goose Up
-- A client_internal_ledger import's rows are what the client's ledger says
-- should happen: each valid row becomes (or is found to be) a payment
-- intent. They are raw records like any imported row, under a source of
-- their own — they are not evidence, and are never matched to cases — and
-- point at the intent they were recorded as.
ALTER TABLE raw_records
    DROP CONSTRAINT raw_records_source_check,
    ADD CONSTRAINT raw_records_source_check CHECK (source IN ('provider', 'onchain', 'bank', 'file', 'ledger')),
    ADD COLUMN payment_intent_id uuid REFERENCES payment_intents (id);

-- +goose Down
ALTER TABLE raw_records
    DROP COLUMN payment_intent_id,
    DROP CONSTRAINT raw_records_source_check,
    ADD CONSTRAINT raw_records_source_check CHECK (source IN ('provider', 'onchain', 'bank', 'file'));
