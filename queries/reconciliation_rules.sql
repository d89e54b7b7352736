-- name: CreateRule :one
INSERT INTO reconciliation_rules (
    organization_id, name, priority, payment_type, source_type, is_active, amount_tolerance, amount_tolerance_bps,
    time_window_minutes, allow_explicit_id_match, allow_provider_id_match, allow_tx_hash_match,
    allow_reference_exact_match, allow_amount_and_time_window_match, required_leg_types, require_all_required_legs,
    expected_completion_minutes, sla_risk_threshold_percent, delayed_settlement_threshold_minutes
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
RETURNING *;

-- name: UpdateRule :one
UPDATE reconciliation_rules SET
    name = $3, priority = $4, payment_type = $5, source_type = $6, is_active = $7, amount_tolerance = $8,
    amount_tolerance_bps = $9, time_window_minutes = $10, allow_explicit_id_match = $11, allow_provider_id_match = $12,
    allow_tx_hash_match = $13, allow_reference_exact_match = $14, allow_amount_and_time_window_match = $15,
    required_leg_types = $16, require_all_required_legs = $17, expected_completion_minutes = $18,
    sla_risk_threshold_percent = $19, delayed_settlement_threshold_minutes = $20, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: GetRule :one
SELECT * FROM reconciliation_rules WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL;

-- name: GetRuleForUpdate :one
SELECT * FROM reconciliation_rules WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE;

-- name: DeleteRule :one
UPDATE reconciliation_rules SET deleted_at = now(), is_active = false, updated_at = now()
WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: ListRules :many
SELECT * FROM reconciliation_rules
WHERE organization_id = @organization_id AND deleted_at IS NULL
  AND (sqlc.narg(payment_type)::text IS NULL OR payment_type = sqlc.narg(payment_type))
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountRules :one
SELECT count(*) FROM reconciliation_rules
WHERE organization_id = @organization_id AND deleted_at IS NULL
  AND (sqlc.narg(payment_type)::text IS NULL OR payment_type = sqlc.narg(payment_type));

-- name: ActiveRules :many
-- Candidates for rule.Select, in the order it expects.
SELECT * FROM reconciliation_rules
WHERE organization_id = $1 AND deleted_at IS NULL AND is_active
ORDER BY priority, created_at, id;

-- name: ListRulesByPriority :many
-- The console's list: the order rule.Select tries active rules in.
SELECT * FROM reconciliation_rules
WHERE organization_id = @organization_id AND deleted_at IS NULL
ORDER BY priority, created_at, id
LIMIT @lim OFFSET @off;
