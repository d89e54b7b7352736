-- name: CreateCase :one
INSERT INTO reconciliation_cases (
    organization_id, payment_intent_id, expected_amount, expected_currency, required_legs_total,
    coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_id, rule_snapshot_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING *;

-- name: InsertRequiredLegs :exec
INSERT INTO required_legs (case_id, organization_id, leg_type)
SELECT @case_id, @organization_id, unnest(@leg_types::text[]);

-- name: GetCaseByIntent :one
SELECT * FROM reconciliation_cases WHERE organization_id = $1 AND payment_intent_id = $2;

-- name: GetCase :one
SELECT sqlc.embed(c), sqlc.embed(pi),
       floor(extract(epoch FROM coalesce(c.reconciled_at, now()) - pi.created_at) / 60)::integer AS sla_age_minutes
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.organization_id = $1 AND c.id = $2;

-- name: LockCase :one
-- Serializes every change to one case (actions now, evidence later).
SELECT * FROM reconciliation_cases WHERE organization_id = $1 AND id = $2 FOR UPDATE;

-- name: ListCases :many
-- The intent is of the case's organization: saying so lets a search by
-- reference use the intents' (organization_id, external_reference) index
-- instead of reading every intent.
SELECT sqlc.embed(c), sqlc.embed(pi),
       floor(extract(epoch FROM coalesce(c.reconciled_at, now()) - pi.created_at) / 60)::integer AS sla_age_minutes
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id AND pi.organization_id = c.organization_id
WHERE c.organization_id = @organization_id
  AND (sqlc.narg(status)::text IS NULL OR c.status = sqlc.narg(status))
  AND (sqlc.narg(reconciliation_status)::text IS NULL OR c.reconciliation_status = sqlc.narg(reconciliation_status))
  AND (cardinality(@verdicts::text[]) = 0 OR c.verdict = ANY(@verdicts::text[]))
  AND (sqlc.narg(exception_type)::text IS NULL OR c.exception_type = sqlc.narg(exception_type))
  AND (sqlc.narg(sla_risk)::boolean IS NULL OR c.sla_risk = sqlc.narg(sla_risk))
  AND (sqlc.narg(external_reference)::text IS NULL OR pi.external_reference = sqlc.narg(external_reference))
  AND (sqlc.narg(payment_intent_id)::uuid IS NULL OR c.payment_intent_id = sqlc.narg(payment_intent_id))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR c.created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR c.created_at < sqlc.narg(created_to))
  AND (c.created_at, c.id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY c.created_at DESC, c.id DESC
LIMIT @lim OFFSET @off;

-- name: CountCases :one
-- ListCases's total, without its join: counting joined rows hashed every
-- intent of the table, most of a list page's time over 100,000 cases
-- (BENCHMARKS.md, web console). The reference is unique in the
-- organization, so it names one intent at most: looked up once, by its
-- index.
SELECT count(*)
FROM reconciliation_cases c
WHERE c.organization_id = @organization_id
  AND (sqlc.narg(status)::text IS NULL OR c.status = sqlc.narg(status))
  AND (sqlc.narg(reconciliation_status)::text IS NULL OR c.reconciliation_status = sqlc.narg(reconciliation_status))
  AND (cardinality(@verdicts::text[]) = 0 OR c.verdict = ANY(@verdicts::text[]))
  AND (sqlc.narg(exception_type)::text IS NULL OR c.exception_type = sqlc.narg(exception_type))
  AND (sqlc.narg(sla_risk)::boolean IS NULL OR c.sla_risk = sqlc.narg(sla_risk))
  AND (sqlc.narg(external_reference)::text IS NULL OR c.payment_intent_id = (
      SELECT pi.id FROM payment_intents pi
      WHERE pi.organization_id = @organization_id AND pi.external_reference = sqlc.narg(external_reference)))
  AND (sqlc.narg(payment_intent_id)::uuid IS NULL OR c.payment_intent_id = sqlc.narg(payment_intent_id))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR c.created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR c.created_at < sqlc.narg(created_to));

-- name: SetCaseStatus :one
UPDATE reconciliation_cases SET
    status = @status,
    resolved_at = CASE WHEN @status::text = 'resolved' THEN now() WHEN @status::text = 'open' THEN NULL ELSE resolved_at END,
    auto_resolved = false,
    version = version + 1, updated_at = now()
WHERE organization_id = @organization_id AND id = @id
RETURNING *;

-- name: SetCaseNotes :one
UPDATE reconciliation_cases SET notes = $3, version = version + 1, updated_at = now()
WHERE organization_id = $1 AND id = $2
RETURNING *;

-- name: RuleSnapshotID :one
SELECT id FROM rule_snapshots WHERE organization_id = $1 AND digest = $2;

-- name: InsertRuleSnapshot :one
-- Nothing is returned when another transaction stored it first: read it
-- then. (An upsert that touches the row would make every intent created at
-- the same time wait on that one row's lock.)
INSERT INTO rule_snapshots (organization_id, digest, snapshot) VALUES ($1, $2, $3)
ON CONFLICT (organization_id, digest) DO NOTHING
RETURNING id;

-- name: GetRuleSnapshot :one
SELECT snapshot FROM rule_snapshots WHERE organization_id = $1 AND id = $2;

-- name: GetCaseByID :one
SELECT * FROM reconciliation_cases WHERE organization_id = $1 AND id = $2;

-- name: LockCaseWithIntent :one
-- The case to evaluate, locked, with its intent in the same round trip.
SELECT sqlc.embed(c), sqlc.embed(pi)
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.organization_id = $1 AND c.id = $2
FOR UPDATE OF c;

-- name: ExportPageEnds :many
-- The last case of every page of the export (ExportCases's filters and
-- order) with its position: with the ends known, the pages are ranges that
-- two connections read at once. The last row ends the last page, full or
-- not, and its position is the total; no row, no case. No join: in the
-- index's order, the window needs no sort (the intent, which every case has,
-- is probed only to filter by its reference).
SELECT created_at, id, n FROM (
    SELECT c.created_at, c.id, row_number() OVER w AS n, lead(c.id) OVER w IS NULL AS last
    FROM reconciliation_cases c
    WHERE c.organization_id = @organization_id
      AND (sqlc.narg(status)::text IS NULL OR c.status = sqlc.narg(status))
      AND (sqlc.narg(reconciliation_status)::text IS NULL OR c.reconciliation_status = sqlc.narg(reconciliation_status))
      AND (cardinality(@verdicts::text[]) = 0 OR c.verdict = ANY(@verdicts::text[]))
      AND (sqlc.narg(exception_type)::text IS NULL OR c.exception_type = sqlc.narg(exception_type))
      AND (sqlc.narg(sla_risk)::boolean IS NULL OR c.sla_risk = sqlc.narg(sla_risk))
      AND (sqlc.narg(external_reference)::text IS NULL OR EXISTS (
          SELECT 1 FROM payment_intents pi
          WHERE pi.id = c.payment_intent_id AND pi.external_reference = sqlc.narg(external_reference)))
      AND (sqlc.narg(payment_intent_id)::uuid IS NULL OR c.payment_intent_id = sqlc.narg(payment_intent_id))
      AND (sqlc.narg(created_from)::timestamptz IS NULL OR c.created_at >= sqlc.narg(created_from))
      AND (sqlc.narg(created_to)::timestamptz IS NULL OR c.created_at < sqlc.narg(created_to))
    WINDOW w AS (ORDER BY c.created_at DESC, c.id DESC)
) s
WHERE n % @page_size::bigint = 0 OR last
ORDER BY created_at DESC, id DESC;

-- name: ExportCases :many
-- A page of the export: ListCases's filters and order, the cases after one
-- page's end down to the next one's (ExportPageEnds), with only the columns
-- the export writes (not the intent's references, metadata and reference
-- values, nor the case's rule snapshot and base verdict, which it used to
-- read and scan for every case). The intent's id is the case's
-- payment_intent_id.
SELECT c.id, c.organization_id, c.payment_intent_id, c.status, c.reconciliation_status, c.verdict, c.exception_type,
       c.expected_amount, c.expected_currency, c.actual_amount, c.unexplained_delta, c.provider_fee, c.network_fee,
       c.developer_fee, c.fx_spread, c.rounding_delta, c.sla_risk, c.required_legs_total, c.required_legs_present,
       c.coverage_provider, c.coverage_chain, c.coverage_bank, c.coverage_file, c.notes, c.rule_id, c.version,
       c.resolved_at, c.reconciled_at, c.last_run_at, c.created_at, c.updated_at,
       pi.organization_id AS intent_organization_id, pi.external_reference, pi.source_amount, pi.source_currency,
       pi.destination_amount, pi.destination_currency, pi.payment_type, pi.payment_subtype, pi.direction,
       pi.stablecoin, pi.chain, pi.beneficiary_account, pi.beneficiary_name, pi.status AS intent_status,
       pi.created_at AS intent_created_at, pi.updated_at AS intent_updated_at,
       floor(extract(epoch FROM coalesce(c.reconciled_at, now()) - pi.created_at) / 60)::integer AS sla_age_minutes
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.organization_id = @organization_id
  AND (sqlc.narg(status)::text IS NULL OR c.status = sqlc.narg(status))
  AND (sqlc.narg(reconciliation_status)::text IS NULL OR c.reconciliation_status = sqlc.narg(reconciliation_status))
  AND (cardinality(@verdicts::text[]) = 0 OR c.verdict = ANY(@verdicts::text[]))
  AND (sqlc.narg(exception_type)::text IS NULL OR c.exception_type = sqlc.narg(exception_type))
  AND (sqlc.narg(sla_risk)::boolean IS NULL OR c.sla_risk = sqlc.narg(sla_risk))
  AND (sqlc.narg(external_reference)::text IS NULL OR pi.external_reference = sqlc.narg(external_reference))
  AND (sqlc.narg(payment_intent_id)::uuid IS NULL OR c.payment_intent_id = sqlc.narg(payment_intent_id))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR c.created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR c.created_at < sqlc.narg(created_to))
  AND (c.created_at, c.id) < (@after_created_at::timestamptz, @after_id::uuid)
  AND (c.created_at, c.id) >= (@until_created_at::timestamptz, @until_id::uuid)
ORDER BY c.created_at DESC, c.id DESC
LIMIT @lim;

-- name: ExportSnapshot :one
-- The snapshot of the export's transaction, for its second connection.
SELECT pg_export_snapshot()::text;

-- name: DashboardOverview :one
-- Every count of the dashboard overview in one scan of the organization's
-- cases, not one query per count.
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = 'open') AS open,
       count(*) FILTER (WHERE reconciliation_status = 'reconciled') AS reconciled,
       count(*) FILTER (WHERE reconciliation_status = 'tentatively_reconciled') AS tentatively_reconciled,
       count(*) FILTER (WHERE reconciliation_status = 'unreconciled') AS unreconciled,
       count(*) FILTER (WHERE verdict = 'needs_review') AS needs_review,
       count(*) FILTER (WHERE exception_type IS NOT NULL) AS exceptions,
       count(*) FILTER (WHERE sla_risk) AS sla_risk,
       count(*) FILTER (WHERE exception_type = 'timing_delay') AS delayed,
       count(*) FILTER (WHERE verdict = 'matched') AS verdict_matched,
       count(*) FILTER (WHERE verdict = 'matched_with_exception') AS verdict_matched_with_exception,
       count(*) FILTER (WHERE verdict = 'needs_review') AS verdict_needs_review,
       count(*) FILTER (WHERE verdict = 'unreconciled') AS verdict_unreconciled,
       count(*) FILTER (WHERE verdict = 'sla_risk') AS verdict_sla_risk,
       count(*) FILTER (WHERE verdict = 'delayed') AS verdict_delayed,
       count(*) FILTER (WHERE verdict IS NULL) AS verdict_none,
       -- By exception type, for the web console: counted in this scan
       -- rather than by a second one (GROUP BY) over the same rows.
       count(*) FILTER (WHERE exception_type = 'amount_mismatch') AS exception_amount_mismatch,
       count(*) FILTER (WHERE exception_type = 'missing_leg') AS exception_missing_leg,
       count(*) FILTER (WHERE exception_type = 'fee_out_of_tolerance') AS exception_fee_out_of_tolerance,
       count(*) FILTER (WHERE exception_type = 'fx_variance') AS exception_fx_variance,
       count(*) FILTER (WHERE exception_type = 'duplicate_evidence') AS exception_duplicate_evidence,
       count(*) FILTER (WHERE exception_type = 'conflicting_status') AS exception_conflicting_status,
       count(*) FILTER (WHERE exception_type = 'currency_mismatch') AS exception_currency_mismatch,
       count(*) FILTER (WHERE exception_type = 'timing_delay') AS exception_timing_delay,
       count(*) FILTER (WHERE exception_type = 'ambiguous_match') AS exception_ambiguous_match
FROM reconciliation_cases
WHERE organization_id = @organization_id
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR created_at < sqlc.narg(created_to));

-- name: GetCasesByIDs :many
-- Cases rendered together (webhook payloads of a dispatch batch).
SELECT sqlc.embed(c), sqlc.embed(pi),
       floor(extract(epoch FROM coalesce(c.reconciled_at, now()) - pi.created_at) / 60)::integer AS sla_age_minutes
FROM reconciliation_cases c JOIN payment_intents pi ON pi.id = c.payment_intent_id
WHERE c.organization_id = @organization_id AND c.id = ANY(@ids::uuid[]);

-- name: CasesCreatedPerDay :many
-- Cases created per UTC day from created_from on, by verdict (null for
-- cases not judged yet). date_bin from a UTC midnight finds UTC days without
-- the time zone lookup per row that date_trunc(…, 'UTC') costs: twice as
-- fast over 50,000 cases.
SELECT date_bin('1 day', created_at, '2000-01-01 00:00:00+00')::timestamptz AS day, verdict, count(*) AS cases
FROM reconciliation_cases
WHERE organization_id = @organization_id AND created_at >= @created_from::timestamptz
GROUP BY 1, 2
ORDER BY 1, 2;
