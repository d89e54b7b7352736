-- name: AcceptEvidence :one
-- Everything accepting new evidence writes, in one statement (so one round
-- trip, and atomic without a transaction): the raw record, its match task in
-- the outbox and — when the response is already known (respond-async) — the
-- idempotency record's stored response. A (source, sourceRef) received
-- before inserts nothing at all (inserted = 0).
WITH raw AS (
    INSERT INTO raw_records (id, organization_id, source, source_ref, payload, signature_valid, received_at)
    VALUES (@id, @organization_id, @source, @source_ref, @payload, @signature_valid, @received_at)
    ON CONFLICT (organization_id, source, source_ref) WHERE import_batch_id IS NULL DO NOTHING
    RETURNING id
), outbox AS (
    INSERT INTO task_outbox (task_id, task_type, queue, payload, organization_id, next_attempt_at)
    SELECT @task_id, @task_type, @queue, @task_payload, @organization_id, @next_attempt_at FROM raw
), done AS (
    UPDATE idempotency_records ir SET status = 'completed', response_status = @response_status, response_body = @response_body
    WHERE ir.organization_id = @organization_id AND ir.operation = @operation AND ir.key = @idempotency_key
      AND ir.claim_token = @claim_token AND ir.status = 'processing' AND EXISTS (SELECT 1 FROM raw)
    RETURNING 1
)
SELECT (SELECT count(*) FROM raw)::integer AS inserted, (SELECT count(*) FROM done)::integer AS completed;

-- name: GetRawRecordBySourceRef :one
SELECT * FROM raw_records WHERE organization_id = $1 AND source = $2 AND source_ref = $3 AND import_batch_id IS NULL;

-- name: ListRawRecords :many
SELECT * FROM raw_records
WHERE organization_id = @organization_id
  AND (sqlc.narg(match_status)::text IS NULL OR match_status = sqlc.narg(match_status))
  -- Ledger import rows are not evidence: listed with their batch only.
  AND (sqlc.narg(source)::text IS NULL AND source <> 'ledger' OR source = sqlc.narg(source))
  AND (sqlc.narg(received_from)::timestamptz IS NULL OR received_at >= sqlc.narg(received_from))
  AND (sqlc.narg(received_to)::timestamptz IS NULL OR received_at < sqlc.narg(received_to))
  AND (received_at, id) < (@after_received_at::timestamptz, @after_id::uuid)
ORDER BY received_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountRawRecords :one
SELECT count(*) FROM raw_records
WHERE organization_id = @organization_id
  AND (sqlc.narg(match_status)::text IS NULL OR match_status = sqlc.narg(match_status))
  -- Ledger import rows are not evidence: listed with their batch only.
  AND (sqlc.narg(source)::text IS NULL AND source <> 'ledger' OR source = sqlc.narg(source))
  AND (sqlc.narg(received_from)::timestamptz IS NULL OR received_at >= sqlc.narg(received_from))
  AND (sqlc.narg(received_to)::timestamptz IS NULL OR received_at < sqlc.narg(received_to));

-- name: LegsOfRawRecords :many
SELECT raw_record_id, id, case_id FROM flow_legs
WHERE organization_id = @organization_id AND raw_record_id = ANY(CAST(sqlc.arg(raw_record_ids)::text[] AS uuid[]))
ORDER BY raw_record_id, id;

-- name: GetRawRecord :one
SELECT * FROM raw_records WHERE organization_id = $1 AND id = $2;

-- name: LockRawRecord :one
-- Serializes everything done to one piece of evidence (matching, claiming,
-- manual links): always taken before any case lock.
SELECT * FROM raw_records WHERE organization_id = $1 AND id = $2 FOR UPDATE;

-- name: MarkRawRecord :exec
UPDATE raw_records SET match_status = $3, processed_at = coalesce(processed_at, now())
WHERE organization_id = $1 AND id = $2;

-- name: LegsOfRawRecord :many
SELECT id, case_id FROM flow_legs WHERE raw_record_id = $1 ORDER BY id;

-- name: InsertFlowLeg :one
INSERT INTO flow_legs (
    id, organization_id, raw_record_id, type, status, source_status, identity, provider, provider_transfer_id,
    tx_hash, chain_family, chain_id, from_address, to_address, bank_account, bank_reference, end_to_end_id,
    direction, amount, currency, destination_amount, destination_currency, fx_rate, provider_fee, network_fee,
    developer_fee, payment_intent_id, external_reference, reference_values, occurred_at
) VALUES (
    @id, @organization_id, @raw_record_id, @type, @status, @source_status, @identity, @provider, @provider_transfer_id,
    @tx_hash, @chain_family, @chain_id, @from_address, @to_address, @bank_account, @bank_reference, @end_to_end_id,
    @direction, @amount, @currency, @destination_amount, @destination_currency, @fx_rate, @provider_fee, @network_fee,
    @developer_fee, @payment_intent_id, @external_reference, @reference_values, @occurred_at
)
RETURNING *;

-- name: GetFlowLeg :one
SELECT * FROM flow_legs WHERE organization_id = $1 AND id = $2;

-- name: DetachLeg :exec
UPDATE flow_legs SET case_id = NULL WHERE id = $1;

-- Candidate cases for a leg, one query per matching strategy: the matcher
-- runs them strongest first and stops at the first that decides, so a leg
-- carrying its intent's reference costs one indexed lookup. Each returns the
-- same columns (internal/match judges them).

-- name: CandidatesByIntentID :many
SELECT 'explicit_id'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency,
       pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM payment_intents pi JOIN reconciliation_cases c ON c.payment_intent_id = pi.id
WHERE pi.organization_id = $1 AND pi.id = $2;

-- name: CandidatesByExternalReference :many
SELECT 'explicit_id'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency,
       pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM payment_intents pi JOIN reconciliation_cases c ON c.payment_intent_id = pi.id
WHERE pi.organization_id = $1 AND pi.external_reference = $2;

-- name: CandidatesByProviderTransfer :many
SELECT 'provider_id'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency,
       pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM payment_intents pi JOIN reconciliation_cases c ON c.payment_intent_id = pi.id
WHERE pi.organization_id = $1 AND pi.provider_transfer_id = $2
LIMIT 20;

-- name: CandidatesByTxHash :many
SELECT 'tx_hash'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency,
       pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM payment_intents pi JOIN reconciliation_cases c ON c.payment_intent_id = pi.id
WHERE pi.organization_id = $1 AND pi.tx_hash IS NOT NULL AND lower(pi.tx_hash) = lower(sqlc.arg(tx_hash)::text)
LIMIT 20;

-- name: CandidatesByReference :many
-- A reference of the evidence equal to an intent's externalReference or to
-- one of its references. The joins go through unnest and LATERAL so that
-- every plan, generic or not, is an index lookup per reference.
SELECT 'reference_exact'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency,
       pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM unnest(@reference_values::text[]) AS r(value)
JOIN payment_intents pi ON pi.organization_id = @organization_id AND pi.external_reference = r.value
JOIN reconciliation_cases c ON c.payment_intent_id = pi.id
UNION ALL
SELECT 'reference_exact', c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency, pi.created_at, pi.external_reference, c.payment_intent_id
FROM payment_intents pi
CROSS JOIN LATERAL (SELECT * FROM reconciliation_cases rc WHERE rc.payment_intent_id = pi.id LIMIT 1) c
WHERE pi.organization_id = @organization_id AND pi.reference_values && @reference_values::text[]
LIMIT 20;

-- name: CandidatesByAmount :many
-- Open cases in the leg's currency whose expected amount is within the
-- widest allowance, and whose intent is within the widest window, that any
-- rule snapshot of the organization gives (each candidate is then judged by
-- its own rule), and that still lack a live leg of this type. Bounded: a
-- weak strategy with many candidates is ambiguous anyway.
WITH bounds AS MATERIALIZED (
    SELECT greatest(coalesce(max((snapshot->>'amountTolerance')::numeric), 0),
                    abs(sqlc.arg(amount)::numeric) * coalesce(max((snapshot->>'amountToleranceBps')::integer), 0) / 10000) AS slack,
           coalesce(max((snapshot->>'timeWindowMinutes')::integer), 0) * interval '1 minute' AS win
    FROM rule_snapshots rs WHERE rs.organization_id = @organization_id
)
SELECT 'amount_time_window'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount, c.expected_currency,
       pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.organization_id = @organization_id AND c.status = 'open'
  AND c.expected_currency = sqlc.arg(currency)::text
  -- Scalar subqueries: evaluated once, then the index range is fixed.
  AND c.expected_amount BETWEEN sqlc.arg(amount)::numeric - (SELECT slack FROM bounds)
                            AND sqlc.arg(amount)::numeric + (SELECT slack FROM bounds)
  AND pi.created_at BETWEEN sqlc.arg(occurred_at)::timestamptz - (SELECT win FROM bounds)
                        AND sqlc.arg(occurred_at)::timestamptz + (SELECT win FROM bounds)
  AND NOT EXISTS (SELECT 1 FROM flow_legs l WHERE l.case_id = c.id AND l.type = sqlc.arg(leg_type)::text
                  AND l.status IN ('pending', 'settled'))
ORDER BY c.created_at
LIMIT 10;

-- name: FreeLegsForIntent :many
-- Legs nobody claimed that name this intent by one of its keys (also legs
-- left ambiguous between other cases: a strong key settles them), or, when
-- amount matching applies, unmatched legs with its amount: an intent created
-- after its evidence still reconciles.
SELECT l.id, l.raw_record_id FROM flow_legs l
JOIN raw_records r ON r.id = l.raw_record_id
WHERE l.organization_id = @organization_id AND l.case_id IS NULL
  AND (((r.match_status = 'unmatched' OR r.match_status = 'ambiguous')
        AND (l.payment_intent_id = @payment_intent_id::uuid
             OR l.external_reference = @external_reference::text
             OR (sqlc.narg(provider_transfer_id)::text IS NOT NULL AND l.provider_transfer_id = sqlc.narg(provider_transfer_id))
             OR (sqlc.narg(tx_hash)::text IS NOT NULL AND lower(l.tx_hash) = lower(sqlc.narg(tx_hash)))
             OR l.reference_values && @reference_values::text[]))
       OR (r.match_status = 'unmatched' AND l.currency = sqlc.narg(window_currency)::text
           AND l.amount BETWEEN @amount_low::numeric AND @amount_high::numeric))
ORDER BY l.occurred_at
LIMIT 100;

-- name: HasFreeLegs :one
SELECT EXISTS (SELECT 1 FROM flow_legs WHERE organization_id = $1 AND case_id IS NULL);

-- name: LinkLeg :one
-- Writes the link and, for an active one, attaches the leg in the same
-- statement; attached is 0 when the leg was attached elsewhere meanwhile.
WITH link AS (
    INSERT INTO match_links (organization_id, case_id, flow_leg_id, raw_record_id, status, strategy, score, reason, created_by)
    VALUES (@organization_id, @case_id, @flow_leg_id, @raw_record_id, @status, @strategy, @score, @reason, @created_by)
    RETURNING *
), leg AS (
    UPDATE flow_legs SET case_id = @case_id
    WHERE id = @flow_leg_id AND case_id IS NULL AND @status::text = 'active'
    RETURNING id
)
SELECT link.id, (SELECT count(*) FROM leg)::integer AS attached FROM link;

-- name: FinishRawRecord :exec
-- The record's outcome and the end of its outbox row, in one statement.
WITH marked AS (
    UPDATE raw_records r SET match_status = @match_status, processed_at = coalesce(r.processed_at, now())
    WHERE r.organization_id = @organization_id AND r.id = @id
)
DELETE FROM task_outbox WHERE task_id = @task_id;

-- name: GetMatchLink :one
SELECT * FROM match_links WHERE organization_id = $1 AND case_id = $2 AND id = $3;

-- name: EndMatchLink :one
UPDATE match_links SET status = @status, ended_at = now(), ended_by = @ended_by
WHERE id = @id AND status IN ('active', 'suggested')
RETURNING *;

-- name: SuggestedLinksOfLeg :many
SELECT * FROM match_links WHERE flow_leg_id = $1 AND status = 'suggested' ORDER BY case_id;

-- name: FlowLegsForCases :many
-- The ...ForCases reads join the ids rather than filter with = ANY, for the
-- reason given at AuditEventsForCases.
SELECT l.* FROM unnest(CAST(sqlc.arg(case_ids)::text[] AS uuid[])) AS k(case_id)
JOIN flow_legs l ON l.case_id = k.case_id
WHERE l.organization_id = @organization_id
ORDER BY l.case_id, l.occurred_at, l.created_at, l.id;

-- name: MatchLinksForCases :many
SELECT m.* FROM unnest(CAST(sqlc.arg(case_ids)::text[] AS uuid[])) AS k(case_id)
JOIN match_links m ON m.case_id = k.case_id
WHERE m.organization_id = @organization_id
ORDER BY m.case_id, m.created_at, m.id;

-- name: RawRecordsForCases :many
SELECT DISTINCT ON (m.case_id, r.id) m.case_id, sqlc.embed(r)
FROM unnest(CAST(sqlc.arg(case_ids)::text[] AS uuid[])) AS k(case_id)
JOIN match_links m ON m.case_id = k.case_id
JOIN raw_records r ON r.id = m.raw_record_id
WHERE m.organization_id = @organization_id
ORDER BY m.case_id, r.id;

-- Batch matching (internal/matcher.ProcessMany): the same steps as one
-- record's, one statement each for a whole batch.

-- name: LockRawRecords :many
SELECT * FROM raw_records WHERE id = ANY(@ids::uuid[]) ORDER BY id FOR UPDATE;

-- name: CopyFlowLegs :copyfrom
INSERT INTO flow_legs (
    id, organization_id, raw_record_id, type, status, source_status, identity, provider, provider_transfer_id,
    tx_hash, chain_family, chain_id, from_address, to_address, bank_account, bank_reference, end_to_end_id,
    direction, amount, currency, destination_amount, destination_currency, fx_rate, provider_fee, network_fee,
    developer_fee, payment_intent_id, external_reference, reference_values, occurred_at
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
    $25, $26, $27, $28, $29, $30
);

-- name: CandidatesByExternalReferences :many
SELECT r.value::text AS reference, 'explicit_id'::text AS strategy, c.id, c.rule_snapshot_id, c.status, c.expected_amount,
       c.expected_currency, pi.created_at AS intent_created_at, pi.external_reference, c.payment_intent_id
FROM unnest(@external_references::text[]) AS r(value)
JOIN payment_intents pi ON pi.organization_id = @organization_id AND pi.external_reference = r.value
JOIN reconciliation_cases c ON c.payment_intent_id = pi.id;

-- name: LockCasesWithIntents :many
-- Every case a batch touches, locked in id order (the lock order).
SELECT sqlc.embed(c), sqlc.embed(pi)
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.id = ANY(@ids::uuid[])
ORDER BY c.id
FOR UPDATE OF c;

-- name: LinkLegs :one
-- The active links of a batch and their legs attached, in one statement;
-- attached falls short of the number of links when a leg was attached
-- elsewhere meanwhile.
WITH l AS (
    INSERT INTO match_links (organization_id, case_id, flow_leg_id, raw_record_id, status, strategy, score, reason, created_by)
    SELECT unnest(@organization_ids::uuid[]), unnest(@case_ids::uuid[]), unnest(@flow_leg_ids::uuid[]),
           unnest(@raw_record_ids::uuid[]), 'active', unnest(@strategies::text[]), unnest(@scores::numeric[]),
           unnest(@reasons::text[]), @created_by
    RETURNING flow_leg_id, case_id
), a AS (
    UPDATE flow_legs f SET case_id = l.case_id FROM l
    WHERE f.id = l.flow_leg_id AND f.case_id IS NULL
    RETURNING f.id
)
SELECT (SELECT count(*) FROM a)::integer AS attached;

-- name: LegsOfCases :many
SELECT * FROM flow_legs WHERE case_id = ANY(@case_ids::uuid[]) ORDER BY case_id, occurred_at, created_at, id;

-- name: SuggestedLinkCounts :many
SELECT case_id, count(*)::integer AS suggested FROM match_links
WHERE case_id = ANY(@case_ids::uuid[]) AND status = 'suggested'
GROUP BY case_id;

-- name: FinishRawRecords :exec
WITH u AS (
    SELECT unnest(@ids::uuid[]) AS id, unnest(@statuses::text[]) AS status
), marked AS (
    UPDATE raw_records r SET match_status = u.status, processed_at = coalesce(r.processed_at, now())
    FROM u WHERE r.id = u.id
)
DELETE FROM task_outbox WHERE task_id = ANY(@task_ids::text[]);

-- name: SetCaseEvaluations :many
-- Writes evaluations (amounts as text, '' for none): verdict and
-- exception_type with the SLA overlay, base_* without (see migration 00005).
-- reconciled_at is the matcher's clock, the one the overlay was judged by,
-- so that the age it freezes agrees with the SLA outcome.
-- A case that becomes
-- reconciled resolves itself; one that was resolved automatically and stops
-- being reconciled (a reversal) opens again; archived cases and cases
-- resolved by hand keep their status.
WITH u AS (
    SELECT unnest(@ids::uuid[]) AS id,
           nullif(unnest(@actual_amounts::text[]), '')::numeric AS actual_amount,
           nullif(unnest(@unexplained_deltas::text[]), '')::numeric AS unexplained_delta,
           nullif(unnest(@provider_fees::text[]), '')::numeric AS provider_fee,
           nullif(unnest(@network_fees::text[]), '')::numeric AS network_fee,
           nullif(unnest(@developer_fees::text[]), '')::numeric AS developer_fee,
           nullif(unnest(@fx_spreads::text[]), '')::numeric AS fx_spread,
           nullif(unnest(@rounding_deltas::text[]), '')::numeric AS rounding_delta,
           nullif(unnest(@verdicts::text[]), '') AS verdict,
           unnest(@reconciliation_statuses::text[]) AS reconciliation_status,
           nullif(unnest(@exception_types::text[]), '') AS exception_type,
           nullif(unnest(@base_verdicts::text[]), '') AS base_verdict,
           nullif(unnest(@base_exception_types::text[]), '') AS base_exception_type,
           unnest(@sla_risks::boolean[]) AS sla_risk,
           unnest(@coverage_providers::text[]) AS coverage_provider,
           unnest(@coverage_chains::text[]) AS coverage_chain,
           unnest(@coverage_banks::text[]) AS coverage_bank,
           unnest(@coverage_files::text[]) AS coverage_file,
           unnest(@required_legs_totals::integer[]) AS required_legs_total,
           unnest(@required_legs_presents::integer[]) AS required_legs_present
)
UPDATE reconciliation_cases c SET
    actual_amount = u.actual_amount, unexplained_delta = u.unexplained_delta,
    provider_fee = u.provider_fee, network_fee = u.network_fee, developer_fee = u.developer_fee,
    fx_spread = u.fx_spread, rounding_delta = u.rounding_delta,
    verdict = u.verdict, reconciliation_status = u.reconciliation_status, exception_type = u.exception_type,
    base_verdict = u.base_verdict, base_exception_type = u.base_exception_type, sla_risk = u.sla_risk,
    coverage_provider = u.coverage_provider, coverage_chain = u.coverage_chain,
    coverage_bank = u.coverage_bank, coverage_file = u.coverage_file,
    required_legs_total = u.required_legs_total, required_legs_present = u.required_legs_present,
    status = CASE
        WHEN c.status = 'open' AND u.reconciliation_status = 'reconciled' THEN 'resolved'
        WHEN c.status = 'resolved' AND c.auto_resolved AND u.reconciliation_status <> 'reconciled' THEN 'open'
        ELSE c.status END,
    auto_resolved = CASE
        WHEN c.status = 'open' AND u.reconciliation_status = 'reconciled' THEN true
        WHEN c.status = 'resolved' AND c.auto_resolved AND u.reconciliation_status <> 'reconciled' THEN false
        ELSE c.auto_resolved END,
    resolved_at = CASE
        WHEN c.status = 'open' AND u.reconciliation_status = 'reconciled' THEN now()
        WHEN c.status = 'resolved' AND c.auto_resolved AND u.reconciliation_status <> 'reconciled' THEN NULL
        ELSE c.resolved_at END,
    reconciled_at = CASE WHEN u.reconciliation_status = 'reconciled' THEN coalesce(c.reconciled_at, @evaluated_at::timestamptz) END,
    last_run_at = now(), version = c.version + 1, updated_at = now()
FROM u WHERE c.id = u.id
RETURNING c.*;

-- name: LinksOfLegs :many
SELECT flow_leg_id, id FROM match_links WHERE flow_leg_id = ANY(@flow_leg_ids::uuid[]) AND status = 'active';
