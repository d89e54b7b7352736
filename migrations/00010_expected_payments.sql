-- +goose Up
-- Expected payments (seed 004, DESIGN §6): treasury teams declare the money
-- they expect on their internal accounts, and bank transactions reconcile to
-- it by the expected payment's rule variables. Amounts are integer minor
-- units.

-- A GiST index over (account, direction, amount range) finds the expected
-- payments whose bounds hold a transaction's amount without scanning.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE internal_accounts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    name            text NOT NULL,
    currency        text NOT NULL,
    -- Bank identifiers: a statement whose account is one of these is
    -- attributed to the account.
    account_number  text,
    routing_number  text,
    iban            text,
    bic             text,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX internal_accounts_org ON internal_accounts (organization_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX internal_accounts_iban ON internal_accounts (organization_id, iban) WHERE iban IS NOT NULL;
CREATE UNIQUE INDEX internal_accounts_number ON internal_accounts (organization_id, account_number, coalesce(routing_number, ''))
    WHERE account_number IS NOT NULL;

CREATE TABLE counterparties (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id),
    name            text NOT NULL,
    email           text,
    -- [{account_number, routing_number, iban, bic}]
    accounts        jsonb NOT NULL DEFAULT '[]',
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX counterparties_org ON counterparties (organization_id, created_at DESC, id DESC);

CREATE TABLE expected_payments (
    id                            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id               uuid NOT NULL REFERENCES organizations (id),
    -- The top-level fields: given, or taken from the first rule variable.
    direction                     text NOT NULL CHECK (direction IN ('credit', 'debit')),
    currency                      text NOT NULL,
    amount_lower_bound            bigint NOT NULL CHECK (amount_lower_bound >= 0),
    amount_upper_bound            bigint NOT NULL CHECK (amount_upper_bound >= amount_lower_bound),
    date_lower_bound              date,
    date_upper_bound              date,
    internal_account_id           uuid NOT NULL REFERENCES internal_accounts (id),
    counterparty_id               uuid REFERENCES counterparties (id),
    type                          text,
    description                   text,
    statement_descriptor          text,
    remittance_information        text,
    external_id                   text,
    metadata                      jsonb NOT NULL DEFAULT '{}',
    -- As given (null when none were): the API shows them back as they came.
    reconciliation_rule_variables jsonb,
    status                        text NOT NULL DEFAULT 'unreconciled'
        CHECK (status IN ('unreconciled', 'partially_reconciled', 'tentatively_reconciled', 'reconciled', 'archived')),
    amount_reconciled             bigint NOT NULL DEFAULT 0,
    reconciliation_method         text CHECK (reconciliation_method IN ('automatic', 'manual')),
    reconciled_at                 timestamptz,
    -- Set once by the overdue sweep: unreconciled past date_upper_bound.
    overdue_at                    timestamptz,
    archived_at                   timestamptz,
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX expected_payments_org ON expected_payments (organization_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX expected_payments_external_id ON expected_payments (organization_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX expected_payments_overdue ON expected_payments (date_upper_bound)
    WHERE overdue_at IS NULL AND status IN ('unreconciled', 'partially_reconciled');

-- One row per rule variable (a single one built from the top-level fields
-- when none were given): what the matcher searches. open mirrors whether the
-- expected payment still takes transactions.
CREATE TABLE expected_payment_variables (
    expected_payment_id uuid NOT NULL REFERENCES expected_payments (id) ON DELETE CASCADE,
    idx                 smallint NOT NULL,
    organization_id     uuid NOT NULL,
    internal_account_id uuid NOT NULL,
    direction           text NOT NULL,
    currency            text NOT NULL,
    amount_lower_bound  bigint NOT NULL,
    amount_upper_bound  bigint NOT NULL,
    amount_range        int8range GENERATED ALWAYS AS (int8range(amount_lower_bound, amount_upper_bound, '[]')) STORED,
    date_lower_bound    date,
    date_upper_bound    date,
    type                text,
    -- Keys and values trimmed and lower-cased: compared case-insensitively.
    custom_identifiers  jsonb NOT NULL DEFAULT '{}',
    -- One of them as "key=value" (the first key): how a transaction
    -- carrying it finds the variable without an amount to go by.
    instalment_key      text,
    open                boolean NOT NULL DEFAULT true,
    PRIMARY KEY (expected_payment_id, idx)
);
CREATE INDEX expected_payment_variables_amount ON expected_payment_variables
    USING gist (internal_account_id, direction, amount_range) WHERE open;
-- Instalments: a variable with custom identifiers also takes transactions
-- below its lower bound, which the amount index cannot find.
CREATE INDEX expected_payment_variables_instalments ON expected_payment_variables (instalment_key)
    WHERE open AND instalment_key IS NOT NULL;

CREATE TABLE transactions (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id             uuid NOT NULL REFERENCES organizations (id),
    internal_account_id         uuid NOT NULL REFERENCES internal_accounts (id),
    direction                   text NOT NULL CHECK (direction IN ('credit', 'debit')),
    amount                      bigint NOT NULL CHECK (amount > 0),
    currency                    text NOT NULL,
    as_of_date                  date NOT NULL,
    posted                      boolean NOT NULL DEFAULT true,
    type                        text,
    vendor_description          text,
    custom_identifiers          jsonb NOT NULL DEFAULT '{}',
    -- custom_identifiers trimmed and lower-cased, for matching.
    identifiers_key             jsonb NOT NULL DEFAULT '{}',
    counterparty_name           text,
    counterparty_account_number text,
    counterparty_routing_number text,
    counterparty_iban           text,
    external_id                 text,
    metadata                    jsonb NOT NULL DEFAULT '{}',
    -- A statement line it came from.
    import_batch_id             uuid,
    raw_record_id               uuid UNIQUE,
    -- pending: the matcher has yet to look at it.
    match_state                 text NOT NULL DEFAULT 'pending' CHECK (match_state IN ('pending', 'done')),
    expected_payment_id         uuid REFERENCES expected_payments (id),
    reconciliation_method       text CHECK (reconciliation_method IN ('automatic', 'manual')),
    reconciliation_reason       text,
    -- Why the matcher left it alone though candidates existed (a tie).
    review_reason               text,
    discarded_at                timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transactions_org ON transactions (organization_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX transactions_external_id ON transactions (organization_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX transactions_pending ON transactions (organization_id, as_of_date, created_at, id) WHERE match_state = 'pending';
CREATE INDEX transactions_expected_payment ON transactions (expected_payment_id) WHERE expected_payment_id IS NOT NULL;
-- Unreconciled transactions an expected payment created later may claim.
CREATE INDEX transactions_unreconciled ON transactions (internal_account_id, direction, amount)
    WHERE expected_payment_id IS NULL AND discarded_at IS NULL;

-- +goose Down
DROP TABLE transactions;
DROP TABLE expected_payment_variables;
DROP TABLE expected_payments;
DROP TABLE counterparties;
DROP TABLE internal_accounts;
