-- name: CreateLedger :one
INSERT INTO ledgers (organization_id, name, description, currency, metadata)
VALUES (@organization_id, @name, @description, @currency, @metadata)
RETURNING *;

-- name: GetLedger :one
SELECT * FROM ledgers WHERE organization_id = $1 AND id = $2;

-- name: ListLedgers :many
SELECT * FROM ledgers WHERE organization_id = @organization_id
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountLedgers :one
SELECT count(*) FROM ledgers WHERE organization_id = $1;

-- name: CreateLedgerAccount :one
INSERT INTO ledger_accounts (organization_id, ledger_id, name, code, currency, normal_balance)
VALUES (@organization_id, @ledger_id, @name, @code, @currency, @normal_balance)
ON CONFLICT (ledger_id, code) DO NOTHING
RETURNING *;

-- name: LedgerAccounts :many
SELECT * FROM ledger_accounts WHERE organization_id = $1 AND ledger_id = $2 ORDER BY code;

-- name: GetLedgerAccount :one
SELECT * FROM ledger_accounts WHERE organization_id = $1 AND id = $2;

-- name: AccountsWithUnreconciled :many
-- Each account with how many of its GL entries no active match holds.
SELECT a.*, (
    SELECT count(*) FROM ledger_entries e
    WHERE e.account_id = a.id
      AND NOT EXISTS (SELECT 1 FROM ledger_match_members m WHERE m.entry_id = e.id AND m.active)
)::bigint AS unreconciled_count
FROM ledger_accounts a
WHERE a.organization_id = @organization_id AND (sqlc.narg(ledger_id)::uuid IS NULL OR a.ledger_id = sqlc.narg(ledger_id))
ORDER BY a.ledger_id, a.code;

-- name: ExistingExternalIDs :many
SELECT external_id FROM ledger_entries WHERE ledger_id = @ledger_id AND external_id = ANY(@external_ids::text[]);

-- name: CopyLedgerEntries :copyfrom
INSERT INTO ledger_entries (id, organization_id, ledger_id, account_id, direction, amount, currency, booking_date,
                            reference, description, external_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: ListLedgerEntries :many
SELECT * FROM ledger_entries
WHERE organization_id = @organization_id AND ledger_id = @ledger_id
  AND (sqlc.narg(account_id)::uuid IS NULL OR account_id = sqlc.narg(account_id))
ORDER BY booking_date, id
LIMIT @lim OFFSET @off;

-- name: CountLedgerEntries :one
SELECT count(*) FROM ledger_entries
WHERE organization_id = @organization_id AND ledger_id = @ledger_id
  AND (sqlc.narg(account_id)::uuid IS NULL OR account_id = sqlc.narg(account_id));

-- name: CreateLedgerRun :one
INSERT INTO ledger_runs (organization_id, ledger_id, account_id, mode, source_type, note, idempotency_key, window_days, created_by)
VALUES (@organization_id, @ledger_id, @account_id, @mode, @source_type, @note, @idempotency_key, @window_days, @created_by)
ON CONFLICT (organization_id, idempotency_key) WHERE idempotency_key IS NOT NULL AND deleted_at IS NULL DO NOTHING
RETURNING *;

-- name: GetLedgerRunByKey :one
SELECT * FROM ledger_runs WHERE organization_id = $1 AND idempotency_key = $2 AND deleted_at IS NULL;

-- name: GetLedgerRun :one
SELECT * FROM ledger_runs WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL;

-- name: GetLedgerRunByID :one
SELECT * FROM ledger_runs WHERE id = $1 AND deleted_at IS NULL;

-- name: ListLedgerRuns :many
SELECT * FROM ledger_runs
WHERE organization_id = @organization_id AND deleted_at IS NULL
  AND (sqlc.narg(ledger_id)::uuid IS NULL OR ledger_id = sqlc.narg(ledger_id))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountLedgerRuns :one
SELECT count(*) FROM ledger_runs
WHERE organization_id = @organization_id AND deleted_at IS NULL
  AND (sqlc.narg(ledger_id)::uuid IS NULL OR ledger_id = sqlc.narg(ledger_id))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status));

-- name: UpdateLedgerRunNote :one
UPDATE ledger_runs SET note = @note, updated_at = now()
WHERE organization_id = @organization_id AND id = @id AND deleted_at IS NULL
RETURNING *;

-- name: MoveLedgerRun :one
-- A status transition, only from the statuses given.
UPDATE ledger_runs SET status = @status::text, error = sqlc.narg(error),
    completed_at = CASE WHEN @status::text IN ('completed', 'failed') THEN now() ELSE completed_at END,
    updated_at = now()
WHERE id = @id AND deleted_at IS NULL AND status = ANY(@from_statuses::text[])
RETURNING *;

-- name: StartLedgerRunMatch :one
-- An auto-match task takes the run, unless another task holds it (running,
-- and heard of within stale_seconds). The holding task itself, delivered
-- again because its worker died, takes it back at once.
UPDATE ledger_runs SET status = 'running', error = NULL, match_task_id = @task_id::text, updated_at = now()
WHERE id = @id AND deleted_at IS NULL
  AND (status IN ('pending', 'completed', 'failed')
       OR (status = 'running' AND (match_task_id = @task_id::text
           OR updated_at < now() - make_interval(secs => sqlc.arg(stale_seconds)::integer))))
RETURNING *;

-- name: CompleteLedgerRun :one
UPDATE ledger_runs SET status = 'completed', error = NULL, completed_at = now(), updated_at = now(),
    matched_count = (SELECT count(*) FROM ledger_matches m WHERE m.run_id = @id AND m.status <> 'rejected')
WHERE ledger_runs.id = @id AND status = 'running'
RETURNING *;

-- name: DeleteLedgerRun :one
UPDATE ledger_runs SET deleted_at = now(), updated_at = now()
WHERE organization_id = @organization_id AND id = @id AND deleted_at IS NULL AND status <> 'running'
RETURNING *;

-- name: ReleaseRunMatches :exec
-- A deleted run's matches no longer hold its GL entries. Through the
-- run's matches (indexed by run) and the members' match index: members
-- have no index by run, and a scan of all of them would grow with every
-- run ever matched.
UPDATE ledger_match_members SET active = false
WHERE match_id IN (SELECT m.id FROM ledger_matches m WHERE m.run_id = sqlc.arg(run_id)::uuid) AND active;

-- name: InsertRunSource :one
INSERT INTO ledger_run_sources (organization_id, run_id, file_name, format, content_sha256, size_bytes, idempotency_key, created_by)
VALUES (@organization_id, @run_id, @file_name, @format, @content_sha256, @size_bytes, @idempotency_key, @created_by)
ON CONFLICT (run_id, content_sha256) DO NOTHING
RETURNING *;

-- name: GetRunSourceBySHA :one
SELECT * FROM ledger_run_sources WHERE run_id = $1 AND content_sha256 = $2;

-- name: InsertRunFile :exec
INSERT INTO ledger_run_files (source_id, content) VALUES ($1, $2);

-- name: GetRunFile :one
SELECT content FROM ledger_run_files WHERE source_id = $1;

-- name: GetRunSource :one
SELECT * FROM ledger_run_sources WHERE organization_id = $1 AND run_id = $2 AND id = $3;

-- name: GetRunSourceByID :one
SELECT * FROM ledger_run_sources WHERE id = $1;

-- name: ListRunSources :many
SELECT * FROM ledger_run_sources WHERE organization_id = $1 AND run_id = $2 ORDER BY created_at, id;

-- name: CopyRunItems :copyfrom
INSERT INTO ledger_run_items (id, organization_id, run_id, source_id, row_number, direction, amount, currency, booking_date,
                              value_date, status, reference, end_to_end_id, counterparty, description)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15);

-- name: ProcessRunSource :one
UPDATE ledger_run_sources SET status = 'processed', imported = @imported, statements = @statements, processed_at = now()
WHERE id = @id AND status = 'pending'
RETURNING *;

-- name: FailRunSource :one
UPDATE ledger_run_sources SET status = 'failed', error = @error::text, processed_at = now()
WHERE id = @id AND status = 'pending'
RETURNING *;

-- name: DeleteSourceMatches :exec
-- Matches holding any line of a source go with it, whole (members too):
-- their GL entries are free again.
WITH doomed AS (
    SELECT DISTINCT m.match_id FROM ledger_match_members m JOIN ledger_run_items i ON i.id = m.item_id WHERE i.source_id = @source_id
), members AS (
    DELETE FROM ledger_match_members WHERE match_id IN (SELECT match_id FROM doomed)
)
DELETE FROM ledger_matches WHERE id IN (SELECT match_id FROM doomed);

-- name: DeleteSourceItems :exec
DELETE FROM ledger_run_items WHERE source_id = $1;

-- name: DeleteSourceDiscrepancies :exec
DELETE FROM ledger_discrepancies d
WHERE d.run_id = @run_id AND d.status = 'open'
  AND (d.type = 'balance_mismatch' OR d.item_ids && ARRAY(SELECT i.id FROM ledger_run_items i WHERE i.source_id = @source_id));

-- name: DeleteRunSource :one
DELETE FROM ledger_run_sources WHERE organization_id = $1 AND run_id = $2 AND id = $3 RETURNING *;

-- name: RunStatements :many
SELECT statements FROM ledger_run_sources WHERE run_id = $1 AND status = 'processed' ORDER BY created_at, id;

-- name: OpenRunItems :many
-- The lines auto-match works on: not closed, in no active match.
SELECT i.id, i.direction, i.amount::text AS amount, i.currency, (i.booking_date - DATE '1970-01-01')::integer AS day,
       i.reference, i.end_to_end_id
FROM ledger_run_items i
WHERE i.run_id = @run_id AND i.closed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_match_members m WHERE m.item_id = i.id AND m.active);

-- name: RunItemDays :one
SELECT coalesce(min(booking_date), CURRENT_DATE)::date AS first_day, coalesce(max(booking_date), CURRENT_DATE)::date AS last_day,
       count(*)::bigint AS items
FROM ledger_run_items WHERE run_id = $1;

-- name: OpenRunEntries :many
-- The GL entries auto-match works on: of the run's ledger (and account),
-- booked within the statements' dates widened by the window, in no active
-- match of any run.
SELECT e.id, e.direction, e.amount::text AS amount, e.currency, (e.booking_date - DATE '1970-01-01')::integer AS day,
       e.reference, e.external_id
FROM ledger_entries e
WHERE e.ledger_id = @ledger_id AND (sqlc.narg(account_id)::uuid IS NULL OR e.account_id = sqlc.narg(account_id))
  AND e.booking_date BETWEEN @first_day::date AND @last_day::date
  AND NOT EXISTS (SELECT 1 FROM ledger_match_members m WHERE m.entry_id = e.id AND m.active);

-- name: GLBalance :one
-- Debits less credits of the run's ledger (account) up to a day.
SELECT coalesce(sum(CASE WHEN direction = 'debit' THEN amount ELSE -amount END), 0)::numeric AS balance
FROM ledger_entries
WHERE ledger_id = @ledger_id AND (sqlc.narg(account_id)::uuid IS NULL OR account_id = sqlc.narg(account_id))
  AND currency = @currency AND booking_date <= @day::date;

-- name: ClearOpenDiscrepancies :exec
-- Auto-match recomputes what is still open; reviewed ones stay.
DELETE FROM ledger_discrepancies WHERE run_id = $1 AND status = 'open';

-- name: CopyLedgerMatches :copyfrom
INSERT INTO ledger_matches (id, organization_id, run_id, status, kind, strategy, score, reason, amount, currency, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: CopyMatchMembers :copyfrom
INSERT INTO ledger_match_members (match_id, run_id, item_id, entry_id) VALUES ($1, $2, $3, $4);

-- name: CopyDiscrepancies :copyfrom
INSERT INTO ledger_discrepancies (id, organization_id, run_id, type, severity, item_ids, entry_ids, amount, currency, message)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: RunItems :many
-- A run's lines with their match status: closed by hand, matched (an
-- accepted match), partial (a suggested match awaiting review), or
-- unmatched.
SELECT i.*, m.match_id,
       (CASE WHEN i.closed_at IS NOT NULL THEN 'closed'
             WHEN lm.status = 'accepted' THEN 'matched'
             WHEN lm.status = 'suggested' THEN 'partial'
             ELSE 'unmatched' END)::text AS match_status
FROM ledger_run_items i
LEFT JOIN ledger_match_members m ON m.item_id = i.id AND m.active
LEFT JOIN ledger_matches lm ON lm.id = m.match_id
WHERE i.organization_id = @organization_id AND i.run_id = @run_id
ORDER BY i.booking_date, i.row_number, i.id
LIMIT @lim OFFSET @off;

-- name: CountRunItems :one
SELECT count(*) FROM ledger_run_items WHERE organization_id = $1 AND run_id = $2;

-- name: GetRunItem :one
SELECT i.*, r.ledger_id FROM ledger_run_items i JOIN ledger_runs r ON r.id = i.run_id
WHERE i.organization_id = $1 AND i.id = $2 AND r.deleted_at IS NULL;

-- name: ItemInActiveMatch :one
SELECT EXISTS (SELECT 1 FROM ledger_match_members WHERE item_id = $1 AND active);

-- name: CloseRunItem :one
UPDATE ledger_run_items SET closed_at = now(), close_reason = @reason, close_note = @note, closed_by = @closed_by
WHERE id = @id AND closed_at IS NULL
RETURNING *;

-- name: ReopenRunItem :one
UPDATE ledger_run_items SET closed_at = NULL, close_reason = NULL, close_note = NULL, closed_by = NULL
WHERE id = @id AND closed_at IS NOT NULL
RETURNING *;

-- name: RunGLEntries :many
-- The GL entries of a run's ledger (account), with the active match that
-- holds each, if any; only those no match holds when free_only.
SELECT e.*, m.match_id, m.run_id AS match_run_id
FROM ledger_entries e
LEFT JOIN ledger_match_members m ON m.entry_id = e.id AND m.active
WHERE e.organization_id = @organization_id AND e.ledger_id = @ledger_id
  AND (sqlc.narg(account_id)::uuid IS NULL OR e.account_id = sqlc.narg(account_id))
  AND (NOT @free_only::boolean OR m.match_id IS NULL)
ORDER BY e.booking_date, e.id
LIMIT @lim OFFSET @off;

-- name: CountRunGLEntries :one
SELECT count(*) FROM ledger_entries e
WHERE e.organization_id = @organization_id AND e.ledger_id = @ledger_id
  AND (sqlc.narg(account_id)::uuid IS NULL OR e.account_id = sqlc.narg(account_id))
  AND (NOT @free_only::boolean OR NOT EXISTS (SELECT 1 FROM ledger_match_members m WHERE m.entry_id = e.id AND m.active));

-- name: RunMatches :many
-- The page's matches first (the run's index, in order), then the members of
-- those only: aggregating before the limit, or for the rows an offset
-- skips, would read the whole run.
SELECT lm.*,
       coalesce((SELECT array_agg(mm.item_id ORDER BY mm.item_id) FROM ledger_match_members mm
                 WHERE mm.match_id = lm.id AND mm.item_id IS NOT NULL), '{}')::uuid[] AS item_ids,
       coalesce((SELECT array_agg(mm.entry_id ORDER BY mm.entry_id) FROM ledger_match_members mm
                 WHERE mm.match_id = lm.id AND mm.entry_id IS NOT NULL), '{}')::uuid[] AS entry_ids
FROM ledger_matches lm
WHERE lm.id IN (
    SELECT p.id FROM ledger_matches p
    WHERE p.organization_id = @organization_id AND p.run_id = @run_id
      AND (sqlc.narg(status)::text IS NULL OR p.status = sqlc.narg(status))
    ORDER BY p.created_at, p.id
    LIMIT @lim OFFSET @off)
ORDER BY lm.created_at, lm.id;

-- name: CountRunMatches :one
SELECT count(*) FROM ledger_matches
WHERE organization_id = @organization_id AND run_id = @run_id
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status));

-- name: GetLedgerMatch :one
SELECT lm.*,
       coalesce(array_agg(mm.item_id ORDER BY mm.item_id) FILTER (WHERE mm.item_id IS NOT NULL), '{}')::uuid[] AS item_ids,
       coalesce(array_agg(mm.entry_id ORDER BY mm.entry_id) FILTER (WHERE mm.entry_id IS NOT NULL), '{}')::uuid[] AS entry_ids
FROM ledger_matches lm JOIN ledger_match_members mm ON mm.match_id = lm.id
JOIN ledger_runs r ON r.id = lm.run_id AND r.deleted_at IS NULL
WHERE lm.organization_id = $1 AND lm.id = $2
GROUP BY lm.id;

-- name: DecideLedgerMatch :one
UPDATE ledger_matches SET status = @status::text, decided_at = now(), decided_by = @decided_by
WHERE id = @id AND status = ANY(@from_statuses::text[])
RETURNING *;

-- name: DeactivateMatchMembers :exec
UPDATE ledger_match_members SET active = false WHERE match_id = $1;

-- name: UpdateLedgerMatchNote :one
UPDATE ledger_matches SET note = @note WHERE organization_id = @organization_id AND id = @id RETURNING *;

-- name: RunItemsByIDs :many
SELECT id, amount, currency, direction, closed_at FROM ledger_run_items WHERE run_id = @run_id AND id = ANY(@ids::uuid[]);

-- name: LedgerEntriesByIDs :many
SELECT id, amount, currency, direction, account_id FROM ledger_entries WHERE ledger_id = @ledger_id AND id = ANY(@ids::uuid[]);

-- name: InsertLedgerMatch :one
-- A match made by hand is accepted by whoever made it, at once.
INSERT INTO ledger_matches (id, organization_id, run_id, status, kind, strategy, score, reason, note, amount, currency, created_by,
                            decided_at, decided_by)
VALUES (@id, @organization_id, @run_id, 'accepted', 'manual', 'manual', 1, @reason, @note, @amount, @currency, @created_by,
        now(), @created_by)
RETURNING *;

-- name: RecountLedgerRun :exec
-- matched_count after matches were made, decided or removed by hand.
UPDATE ledger_runs SET matched_count = (SELECT count(*) FROM ledger_matches m WHERE m.run_id = @id AND m.status <> 'rejected'),
    updated_at = now()
WHERE ledger_runs.id = @id;

-- name: LatestOpenLedgerRun :one
SELECT * FROM ledger_runs
WHERE organization_id = $1 AND ledger_id = $2 AND deleted_at IS NULL AND status <> 'closed'
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: UpdateLedgerDiscrepancy :one
UPDATE ledger_discrepancies SET status = coalesce(sqlc.narg(status), status),
    note = CASE WHEN @set_note::boolean THEN sqlc.narg(note) ELSE note END, updated_at = now()
WHERE organization_id = @organization_id AND id = @id
RETURNING *;

-- name: GetLedgerDiscrepancy :one
SELECT * FROM ledger_discrepancies WHERE organization_id = $1 AND id = $2;

-- name: RunDiscrepancies :many
SELECT * FROM ledger_discrepancies
WHERE organization_id = @organization_id AND run_id = @run_id
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
ORDER BY created_at, id
LIMIT @lim OFFSET @off;

-- name: CountRunDiscrepancies :one
SELECT count(*) FROM ledger_discrepancies
WHERE organization_id = @organization_id AND run_id = @run_id
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status));

-- name: ReviewedDiscrepancies :many
-- Discrepancies a person has taken up: auto-match does not raise them
-- again.
SELECT type, item_ids, entry_ids FROM ledger_discrepancies WHERE run_id = $1 AND status <> 'open';

-- name: PurgeRunMembers :exec
-- The rows of a deleted run go, dependents first (the bulk tables have no
-- foreign keys to cascade). Each only for a run that is deleted.
DELETE FROM ledger_match_members
WHERE match_id IN (SELECT m.id FROM ledger_matches m JOIN ledger_runs r ON r.id = m.run_id
                   WHERE m.run_id = sqlc.arg(run_id)::uuid AND r.deleted_at IS NOT NULL);

-- name: PurgeRunMatches :exec
DELETE FROM ledger_matches m USING ledger_runs r
WHERE m.run_id = sqlc.arg(run_id)::uuid AND r.id = m.run_id AND r.deleted_at IS NOT NULL;

-- name: PurgeRunDiscrepancies :exec
DELETE FROM ledger_discrepancies d USING ledger_runs r
WHERE d.run_id = sqlc.arg(run_id)::uuid AND r.id = d.run_id AND r.deleted_at IS NOT NULL;

-- name: PurgeRunItems :exec
DELETE FROM ledger_run_items i USING ledger_runs r
WHERE i.run_id = sqlc.arg(run_id)::uuid AND r.id = i.run_id AND r.deleted_at IS NOT NULL;

-- name: PurgeRunSources :exec
DELETE FROM ledger_run_sources s USING ledger_runs r
WHERE s.run_id = sqlc.arg(run_id)::uuid AND r.id = s.run_id AND r.deleted_at IS NOT NULL;
