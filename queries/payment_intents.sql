-- name: InsertPaymentIntent :one
-- Nothing is returned when the external reference exists: the caller then
-- compares with the stored intent (business uniqueness, DESIGN §3).
INSERT INTO payment_intents (
    organization_id, external_reference, source_amount, source_currency, destination_amount, destination_currency,
    payment_type, payment_subtype, direction, stablecoin, chain, beneficiary_account, beneficiary_name,
    expected_fx_rate, developer_fee_expected, provider_transfer_id, tx_hash, client_completed_at, "references", metadata,
    reference_values
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
ON CONFLICT (organization_id, external_reference) DO NOTHING
RETURNING *;

-- name: GetPaymentIntentByExternalReference :one
SELECT * FROM payment_intents WHERE organization_id = $1 AND external_reference = $2;

-- name: GetPaymentIntent :one
SELECT * FROM payment_intents WHERE organization_id = $1 AND id = $2;

-- name: ListPaymentIntents :many
SELECT * FROM payment_intents
WHERE organization_id = @organization_id
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(external_reference)::text IS NULL OR external_reference = sqlc.narg(external_reference))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to))
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountPaymentIntents :one
SELECT count(*) FROM payment_intents
WHERE organization_id = @organization_id
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(external_reference)::text IS NULL OR external_reference = sqlc.narg(external_reference))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to));
