-- SLA scoring (internal/sla): the scorer walks the cases it visits in chunks
-- of ids, and scores each chunk with one statement.

-- name: SLAChunkEnd :one
-- The last id of the next chunk after @after, and how many cases it holds
-- (0: the sweep is done). The predicate is reconciliation_cases_sla's.
WITH chunk AS (
    SELECT id FROM reconciliation_cases
    WHERE (status = 'open' OR sla_risk OR verdict IN ('sla_risk', 'delayed')) AND id > @after::uuid
    ORDER BY id
    LIMIT @lim::integer
)
SELECT coalesce((SELECT id FROM chunk ORDER BY id DESC LIMIT 1), @after::uuid)::uuid AS last_id,
       (SELECT count(*) FROM chunk) AS cases;

-- name: ScoreSLA :many
-- Scores the cases with ids in (@after, @upto] at @scored_at and writes those whose
-- outcome changes, returning each as it was before (the embedded case) with
-- what was written. recon.ApplySLA is the same judgement in Go (the matcher
-- applies it when it evaluates); TestScoreMatchesApplySLA holds them together.
-- A case changed since the chunk was read (its version moved on) or locked
-- by the matcher right now is left to the matcher, which applies the overlay
-- itself, and to the next sweep.
WITH chunk AS (
    SELECT c.id, c.version, c.verdict, c.exception_type, c.sla_risk, c.base_verdict, c.base_exception_type,
           c.rule_snapshot_id, c.coverage_provider, c.coverage_chain, c.coverage_bank, c.coverage_file,
           -- A case is created in its intent's transaction, so its
           -- created_at is the intent's: no lookup of the intent per case.
           floor(extract(epoch FROM (sqlc.arg(scored_at)::timestamptz - c.created_at)) / 60)::bigint AS age,
           c.status = 'open' AND c.reconciliation_status <> 'reconciled' AS scored
    FROM reconciliation_cases c
    WHERE (c.status = 'open' OR c.sla_risk OR c.verdict IN ('sla_risk', 'delayed'))
      AND c.id > @after::uuid AND c.id <= @upto::uuid
), rules AS MATERIALIZED (
    -- Once per rule version, not once per case: a snapshot is a jsonb
    -- document that would be read again for every field of every case.
    SELECT rs.id,
           (rs.snapshot ->> 'expectedCompletionMinutes')::bigint AS completion,
           (rs.snapshot ->> 'slaRiskThresholdPercent')::bigint AS risk_percent,
           (rs.snapshot ->> 'delayedSettlementThresholdMinutes')::bigint AS settlement,
           coalesce(rs.snapshot -> 'requiredLegTypes' @> '["provider_transfer"]', false) AS needs_provider,
           coalesce(rs.snapshot -> 'requiredLegTypes' @> '["onchain_transfer"]', false) AS needs_chain,
           coalesce(rs.snapshot -> 'requiredLegTypes' @> '["bank_settlement"]', false) AS needs_bank,
           coalesce(rs.snapshot -> 'requiredLegTypes' @> '["file_record"]', false) AS needs_file
    FROM rule_snapshots rs
    WHERE rs.id IN (SELECT DISTINCT rule_snapshot_id FROM chunk)
), judged AS (
    SELECT chunk.id, chunk.version, chunk.verdict, chunk.exception_type, chunk.sla_risk,
           chunk.base_verdict, chunk.base_exception_type, chunk.age,
           coalesce(scored AND r.completion > 0 AND age * 100 >= r.completion * r.risk_percent, false)::boolean AS at_risk,
           coalesce(scored AND age >= r.settlement AND (
               (coverage_provider IN ('missing', 'pending') AND r.needs_provider)
               OR (coverage_chain IN ('missing', 'pending') AND r.needs_chain)
               OR (coverage_bank IN ('missing', 'pending') AND r.needs_bank)
               OR (coverage_file IN ('missing', 'pending') AND r.needs_file)), false)::boolean AS delayed,
           base_verdict IS DISTINCT FROM 'needs_review' AS overlaid
    FROM chunk JOIN rules r ON r.id = chunk.rule_snapshot_id
), outcome AS (
    SELECT judged.*,
           CASE WHEN overlaid AND at_risk THEN 'sla_risk' WHEN overlaid AND delayed THEN 'delayed'
                ELSE base_verdict END AS new_verdict,
           CASE WHEN overlaid AND delayed THEN 'timing_delay' ELSE base_exception_type END AS new_exception_type
    FROM judged
), locked AS (
    -- Only the cases whose outcome changes are locked (in id order, as the
    -- matcher locks them), and only those not changed since they were read.
    SELECT c.id, o.version, o.new_verdict, o.new_exception_type, o.at_risk, o.age, o.delayed
    FROM reconciliation_cases c
    JOIN outcome o ON o.id = c.id AND o.version = c.version
    WHERE o.verdict IS DISTINCT FROM o.new_verdict OR o.exception_type IS DISTINCT FROM o.new_exception_type
       OR o.sla_risk <> o.at_risk
    ORDER BY c.id
    FOR UPDATE OF c SKIP LOCKED
), written AS (
    UPDATE reconciliation_cases c SET
        verdict = l.new_verdict, exception_type = l.new_exception_type, sla_risk = l.at_risk,
        version = c.version + 1, updated_at = now()
    FROM locked l
    WHERE c.id = l.id AND c.version = l.version
    RETURNING c.id, c.verdict, c.exception_type, c.sla_risk, c.version, c.updated_at, l.age, l.delayed
)
-- The snapshot of the statement predates its own update: c is the case before.
SELECT sqlc.embed(c), w.verdict AS new_verdict, w.exception_type AS new_exception_type, w.sla_risk AS new_sla_risk,
       w.version AS new_version, w.updated_at AS new_updated_at, w.age, w.delayed
FROM written w JOIN reconciliation_cases c ON c.id = w.id
ORDER BY c.id;
