-- Expected payments (seed 004): internal accounts, counterparties, expected
-- payments with their rule variables, and transactions. Lists page by keyset
-- on (created_at, id), newest first: before_at/before_id is the last row of
-- the previous page ('infinity' and the max uuid for the first).

-- name: CreateInternalAccount :one
INSERT INTO internal_accounts (organization_id, name, currency, account_number, routing_number, iban, bic, metadata)
VALUES (@organization_id, @name, @currency, sqlc.narg(account_number), sqlc.narg(routing_number),
        sqlc.narg(iban), sqlc.narg(bic), @metadata)
RETURNING *;

-- name: GetInternalAccount :one
SELECT * FROM internal_accounts WHERE organization_id = @organization_id AND id = @id;

-- name: ListInternalAccounts :many
SELECT * FROM internal_accounts
WHERE organization_id = @organization_id
  AND (created_at, id) < (@before_at::timestamptz, @before_id::uuid)
  AND (sqlc.narg(currency)::text IS NULL OR currency = sqlc.narg(currency))
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: InternalAccountsForStatement :many
-- The accounts a bank statement's account identifier names: an IBAN
-- (compared without spaces, upper-cased) or an account number.
SELECT id, currency FROM internal_accounts
WHERE organization_id = @organization_id
  AND (upper(replace(iban, ' ', '')) = @identifier::text OR account_number = @identifier::text)
ORDER BY id
LIMIT 2;

-- name: UpdateInternalAccount :one
UPDATE internal_accounts
SET name = coalesce(sqlc.narg(name), name),
    metadata = coalesce(sqlc.narg(metadata)::jsonb, metadata),
    updated_at = now()
WHERE organization_id = @organization_id AND id = @id
RETURNING *;

-- name: CreateCounterparty :one
INSERT INTO counterparties (organization_id, name, email, accounts, metadata)
VALUES (@organization_id, @name, sqlc.narg(email), @accounts, @metadata)
RETURNING *;

-- name: GetCounterparty :one
SELECT * FROM counterparties WHERE organization_id = @organization_id AND id = @id;

-- name: ListCounterparties :many
SELECT * FROM counterparties
WHERE organization_id = @organization_id
  AND (created_at, id) < (@before_at::timestamptz, @before_id::uuid)
  AND (sqlc.narg(name)::text IS NULL OR name ILIKE sqlc.narg(name) || '%')
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: UpdateCounterparty :one
UPDATE counterparties
SET name = coalesce(sqlc.narg(name), name),
    email = coalesce(sqlc.narg(email), email),
    accounts = coalesce(sqlc.narg(accounts)::jsonb, accounts),
    metadata = coalesce(sqlc.narg(metadata)::jsonb, metadata),
    updated_at = now()
WHERE organization_id = @organization_id AND id = @id
RETURNING *;

-- name: DeleteCounterparty :execrows
-- Only one no expected payment names.
DELETE FROM counterparties c
WHERE c.organization_id = @organization_id AND c.id = @id
  AND NOT EXISTS (SELECT 1 FROM expected_payments e WHERE e.counterparty_id = c.id);

-- name: CreateExpectedPayment :one
INSERT INTO expected_payments (
    organization_id, direction, currency, amount_lower_bound, amount_upper_bound, date_lower_bound,
    date_upper_bound, internal_account_id, counterparty_id, type, description, statement_descriptor,
    remittance_information, external_id, metadata, reconciliation_rule_variables)
VALUES (@organization_id, @direction, @currency, @amount_lower_bound, @amount_upper_bound, sqlc.narg(date_lower_bound),
        sqlc.narg(date_upper_bound), @internal_account_id, sqlc.narg(counterparty_id), sqlc.narg(type),
        sqlc.narg(description), sqlc.narg(statement_descriptor), sqlc.narg(remittance_information),
        sqlc.narg(external_id), @metadata, sqlc.narg(reconciliation_rule_variables))
RETURNING *;

-- name: UpdateExpectedPayment :one
-- Every field at once: the service merges the patch into the stored payment.
UPDATE expected_payments
SET direction = @direction, currency = @currency, amount_lower_bound = @amount_lower_bound,
    amount_upper_bound = @amount_upper_bound, date_lower_bound = sqlc.narg(date_lower_bound),
    date_upper_bound = sqlc.narg(date_upper_bound), internal_account_id = @internal_account_id,
    counterparty_id = sqlc.narg(counterparty_id), type = sqlc.narg(type), description = sqlc.narg(description),
    statement_descriptor = sqlc.narg(statement_descriptor), remittance_information = sqlc.narg(remittance_information),
    external_id = sqlc.narg(external_id), metadata = @metadata,
    reconciliation_rule_variables = sqlc.narg(reconciliation_rule_variables),
    -- New bounds: a payment past its old date may no longer be overdue.
    overdue_at = CASE WHEN sqlc.narg(date_upper_bound)::date >= current_date THEN NULL ELSE overdue_at END,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: GetExpectedPayment :one
SELECT * FROM expected_payments WHERE organization_id = @organization_id AND id = @id;

-- name: LockExpectedPayment :one
SELECT * FROM expected_payments WHERE organization_id = @organization_id AND id = @id FOR UPDATE;

-- name: ListExpectedPayments :many
SELECT * FROM expected_payments
WHERE organization_id = @organization_id
  AND (created_at, id) < (@before_at::timestamptz, @before_id::uuid)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(direction)::text IS NULL OR direction = sqlc.narg(direction))
  AND (sqlc.narg(internal_account_id)::uuid IS NULL OR internal_account_id = sqlc.narg(internal_account_id))
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type))
  AND (sqlc.narg(counterparty_id)::uuid IS NULL OR counterparty_id = sqlc.narg(counterparty_id))
  AND (sqlc.narg(external_id)::text IS NULL OR external_id = sqlc.narg(external_id))
  AND metadata @> @metadata::jsonb
  AND created_at >= @created_from::timestamptz AND created_at < @created_to::timestamptz
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: DeleteExpectedPaymentVariables :exec
DELETE FROM expected_payment_variables WHERE expected_payment_id = @expected_payment_id;

-- name: InsertExpectedPaymentVariables :exec
INSERT INTO expected_payment_variables (
    expected_payment_id, idx, organization_id, internal_account_id, direction, currency, amount_lower_bound,
    amount_upper_bound, date_lower_bound, date_upper_bound, type, custom_identifiers, instalment_key)
SELECT @expected_payment_id, unnest(@idxs::smallint[]), @organization_id, unnest(@internal_account_ids::uuid[]),
       unnest(@directions::text[]), unnest(@currencies::text[]), unnest(@amount_lower_bounds::bigint[]),
       unnest(@amount_upper_bounds::bigint[]), unnest(@date_lower_bounds::date[]), unnest(@date_upper_bounds::date[]),
       nullif(unnest(@types::text[]), ''), unnest(@custom_identifiers::text[])::jsonb,
       nullif(unnest(@instalment_keys::text[]), '');

-- name: ExpectedPaymentVariables :many
SELECT * FROM expected_payment_variables WHERE expected_payment_id = @expected_payment_id ORDER BY idx;

-- name: SetExpectedPaymentOpen :exec
UPDATE expected_payment_variables SET open = @open
WHERE expected_payment_id = @expected_payment_id AND open <> @open;

-- name: SetExpectedPaymentsOpen :exec
UPDATE expected_payment_variables v SET open = x.open
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@opens::boolean[]) AS open) AS x
WHERE v.expected_payment_id = x.id AND v.open <> x.open;

-- name: SetExpectedPaymentState :one
UPDATE expected_payments
SET status = @status, amount_reconciled = @amount_reconciled,
    reconciliation_method = sqlc.narg(reconciliation_method),
    reconciled_at = CASE WHEN @status IN ('reconciled', 'tentatively_reconciled') THEN coalesce(reconciled_at, now()) END,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: SetExpectedPaymentStates :many
UPDATE expected_payments e
SET status = x.status, amount_reconciled = x.amount, reconciliation_method = x.method,
    reconciled_at = CASE WHEN x.status IN ('reconciled', 'tentatively_reconciled') THEN coalesce(e.reconciled_at, now()) END,
    updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@statuses::text[]) AS status, unnest(@amounts::bigint[]) AS amount,
             nullif(unnest(@methods::text[]), '') AS method) AS x
WHERE e.id = x.id
RETURNING e.*;

-- name: ArchiveExpectedPayment :one
UPDATE expected_payments SET status = 'archived', archived_at = now(), updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ExpectedPaymentTransactionIDs :many
-- The transactions reconciled to each of a page of expected payments.
SELECT expected_payment_id::uuid AS expected_payment_id, id
FROM transactions
WHERE expected_payment_id = ANY (@ids::uuid[]) AND discarded_at IS NULL
ORDER BY expected_payment_id, as_of_date, created_at, id;

-- name: ReconciledSum :one
-- What an expected payment's reconciled transactions add up to.
SELECT coalesce(sum(amount), 0)::bigint AS amount, count(*) AS transactions,
       coalesce(bool_and(posted), true)::boolean AS all_posted,
       coalesce(bool_or(reconciliation_method = 'manual'), false)::boolean AS any_manual
FROM transactions
WHERE expected_payment_id = @expected_payment_id AND discarded_at IS NULL;

-- name: MarkOverdueExpectedPayments :many
-- Unreconciled past date_upper_bound: marked once, and announced.
UPDATE expected_payments
SET overdue_at = now(), updated_at = now()
WHERE id IN (
    SELECT id FROM expected_payments
    WHERE overdue_at IS NULL AND status IN ('unreconciled', 'partially_reconciled')
      AND date_upper_bound < @today::date
    ORDER BY date_upper_bound, id
    LIMIT @lim
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: CreateTransaction :one
INSERT INTO transactions (
    organization_id, internal_account_id, direction, amount, currency, as_of_date, posted, type, vendor_description,
    custom_identifiers, identifiers_key, counterparty_name, counterparty_account_number, counterparty_routing_number,
    counterparty_iban, external_id, metadata)
VALUES (@organization_id, @internal_account_id, @direction, @amount, @currency, @as_of_date, @posted, sqlc.narg(type),
        sqlc.narg(vendor_description), @custom_identifiers, @identifiers_key, sqlc.narg(counterparty_name),
        sqlc.narg(counterparty_account_number), sqlc.narg(counterparty_routing_number), sqlc.narg(counterparty_iban),
        sqlc.narg(external_id), @metadata)
RETURNING *;

-- name: InsertStatementTransactions :execrows
-- Transactions in bulk, for statement lines of one internal account
-- (amounts in minor units from the caller); a line stored twice is
-- skipped (a statement import's match task run again inserts nothing).
INSERT INTO transactions (
    organization_id, internal_account_id, direction, amount, currency, as_of_date, posted, vendor_description,
    custom_identifiers, identifiers_key, counterparty_name, counterparty_account_number, counterparty_iban,
    import_batch_id, raw_record_id)
SELECT @organization_id, @internal_account_id, unnest(@directions::text[]), unnest(@amounts::bigint[]),
       unnest(@currencies::text[]), unnest(@as_of_dates::date[]), unnest(@posted::boolean[]),
       unnest(@vendor_descriptions::text[]), unnest(@custom_identifiers::text[])::jsonb,
       unnest(@identifiers_keys::text[])::jsonb, nullif(unnest(@counterparty_names::text[]), ''),
       nullif(unnest(@counterparty_accounts::text[]), ''), nullif(unnest(@counterparty_ibans::text[]), ''),
       @import_batch_id, unnest(@raw_record_ids::uuid[])
ON CONFLICT (raw_record_id) DO NOTHING;

-- name: GetTransaction :one
SELECT * FROM transactions WHERE organization_id = @organization_id AND id = @id;

-- name: LockTransaction :one
SELECT * FROM transactions WHERE organization_id = @organization_id AND id = @id FOR UPDATE;

-- name: ListTransactions :many
SELECT * FROM transactions
WHERE organization_id = @organization_id
  AND (created_at, id) < (@before_at::timestamptz, @before_id::uuid)
  AND (sqlc.narg(internal_account_id)::uuid IS NULL OR internal_account_id = sqlc.narg(internal_account_id))
  AND (sqlc.narg(direction)::text IS NULL OR direction = sqlc.narg(direction))
  AND (sqlc.narg(posted)::boolean IS NULL OR posted = sqlc.narg(posted))
  AND (sqlc.narg(reconciled)::boolean IS NULL OR (expected_payment_id IS NOT NULL) = sqlc.narg(reconciled))
  AND (sqlc.narg(expected_payment_id)::uuid IS NULL OR expected_payment_id = sqlc.narg(expected_payment_id))
  AND as_of_date >= @as_of_from::date AND as_of_date <= @as_of_to::date
  AND (sqlc.narg(include_discarded)::boolean IS TRUE OR discarded_at IS NULL)
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: UpdateTransaction :one
UPDATE transactions
SET posted = @posted, discarded_at = sqlc.narg(discarded_at), expected_payment_id = sqlc.narg(expected_payment_id),
    reconciliation_method = sqlc.narg(reconciliation_method), reconciliation_reason = sqlc.narg(reconciliation_reason),
    match_state = @match_state, review_reason = NULL, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ClaimPendingTransactions :many
-- The matcher's next batch, oldest first; rows another worker holds are
-- left to it.
SELECT * FROM transactions
WHERE organization_id = @organization_id AND match_state = 'pending'
ORDER BY as_of_date, created_at, id
LIMIT @lim
FOR UPDATE SKIP LOCKED;

-- name: TransactionCandidates :many
-- The open rule variables each transaction of the batch may satisfy: on its
-- account and direction, with custom identifiers it carries, and either an
-- amount range holding its amount or, taking instalments, an identifier it
-- carries (found by instalment_key). The matcher checks the rest.
SELECT t.id AS transaction_id, v.expected_payment_id, v.idx, v.currency, v.amount_lower_bound, v.amount_upper_bound,
       v.date_lower_bound, v.date_upper_bound, v.type, v.custom_identifiers,
       v.internal_account_id, v.direction, e.created_at,
       (e.reconciliation_rule_variables IS NULL)::boolean AS derived
FROM unnest(@ids::uuid[]) AS b (id)
JOIN transactions t ON t.id = b.id
CROSS JOIN LATERAL (
    SELECT v.* FROM expected_payment_variables v
    WHERE v.open AND v.internal_account_id = t.internal_account_id AND v.direction = t.direction
      AND v.amount_range @> t.amount
    UNION
    SELECT v.* FROM jsonb_each_text(t.identifiers_key) AS kv
    JOIN expected_payment_variables v ON v.instalment_key = kv.key || '=' || kv.value
    WHERE v.open AND v.internal_account_id = t.internal_account_id AND v.direction = t.direction
      AND v.amount_upper_bound >= t.amount
) v
JOIN expected_payments e ON e.id = v.expected_payment_id
WHERE v.organization_id = t.organization_id AND v.custom_identifiers <@ t.identifiers_key
ORDER BY t.id, e.id, v.idx;

-- name: LockExpectedPayments :many
SELECT e.id, e.organization_id, e.status, e.amount_reconciled, e.amount_lower_bound, e.amount_upper_bound,
       e.reconciliation_method,
       NOT EXISTS (SELECT 1 FROM transactions t
                   WHERE t.expected_payment_id = e.id AND NOT t.posted AND t.discarded_at IS NULL) AS all_posted
FROM expected_payments e
WHERE e.id = ANY (@ids::uuid[])
ORDER BY e.id
FOR UPDATE OF e;

-- name: SetTransactionsMatched :exec
UPDATE transactions t
SET match_state = 'done', expected_payment_id = x.expected_payment_id,
    reconciliation_method = CASE WHEN x.expected_payment_id IS NULL THEN NULL ELSE 'automatic' END,
    reconciliation_reason = nullif(x.reason, ''), review_reason = nullif(x.review, ''), updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, nullif(unnest(@expected_payment_ids::uuid[]), '00000000-0000-0000-0000-000000000000') AS expected_payment_id,
             unnest(@reasons::text[]) AS reason, unnest(@reviews::text[]) AS review) AS x
WHERE t.id = x.id;

-- name: RequeueUnreconciledTransactions :execrows
-- A new or changed expected payment: the unreconciled transactions it could
-- claim go back to the matcher. No match_state filter: one a matcher holds
-- is waited for, then re-checked.
UPDATE transactions
SET match_state = 'pending', updated_at = now()
WHERE organization_id = @organization_id AND internal_account_id = @internal_account_id AND direction = @direction
  AND expected_payment_id IS NULL AND discarded_at IS NULL
  AND amount <= @amount_upper_bound AND (amount >= @amount_lower_bound OR @instalments::boolean);

-- name: InsertExpectedPaymentEvents :exec
INSERT INTO event_outbox (organization_id, event_type, sequence, data)
SELECT @organization_id, unnest(@event_types::text[]), 0, unnest(@data::text[])::jsonb;
