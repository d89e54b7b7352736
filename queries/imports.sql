-- name: CreateImportProfile :one
INSERT INTO import_profiles (organization_id, name, description, record_type, settings)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: GetImportProfile :one
SELECT * FROM import_profiles WHERE organization_id = $1 AND id = $2;

-- name: ListImportProfiles :many
SELECT * FROM import_profiles
WHERE organization_id = @organization_id AND (created_at, id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountImportProfiles :one
SELECT count(*) FROM import_profiles WHERE organization_id = $1;

-- name: UpdateImportProfile :one
UPDATE import_profiles SET
    name        = coalesce(sqlc.narg(name), name),
    description = CASE WHEN sqlc.arg(set_description)::boolean THEN sqlc.narg(description) ELSE description END,
    record_type = coalesce(sqlc.narg(record_type), record_type),
    settings    = coalesce(sqlc.narg(settings), settings),
    updated_at  = now()
WHERE organization_id = $1 AND id = $2
RETURNING *;

-- name: DeleteImportProfile :one
DELETE FROM import_profiles WHERE organization_id = $1 AND id = $2 RETURNING *;

-- name: InsertImportBatch :one
-- No row: the organization already has a batch of this content.
INSERT INTO import_batches (organization_id, profile_id, profile_settings, record_type, format, original_file_name,
                            content_sha256, size_bytes, created_by, accept_control_mismatch)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (organization_id, content_sha256) DO NOTHING
RETURNING *;

-- name: GetImportBatchBySHA :one
SELECT * FROM import_batches WHERE organization_id = $1 AND content_sha256 = $2;

-- name: InsertImportFile :exec
INSERT INTO import_files (batch_id, content) VALUES ($1, $2);

-- name: GetImportFile :one
SELECT content FROM import_files WHERE batch_id = $1;

-- name: GetImportBatch :one
SELECT * FROM import_batches WHERE organization_id = $1 AND id = $2;

-- name: GetImportBatchByID :one
SELECT * FROM import_batches WHERE id = $1;

-- name: ListImportBatches :many
SELECT * FROM import_batches
WHERE organization_id = @organization_id AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (created_at, id) < (@after_created_at::timestamptz, @after_id::uuid)
ORDER BY created_at DESC, id DESC
LIMIT @lim OFFSET @off;

-- name: CountImportBatches :one
SELECT count(*) FROM import_batches
WHERE organization_id = @organization_id AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status));

-- name: StartImportBatch :one
-- A batch taken over after a crash is processing already: it goes on.
UPDATE import_batches SET status = 'processing', started_at = coalesce(started_at, now()), updated_at = now()
WHERE id = $1 AND status IN ('queued', 'processing')
RETURNING *;

-- name: CopyImportRows :copyfrom
-- ids are given (time-ordered UUIDv7) so that the rows of a file land at
-- the end of the indexes rather than all over them.
INSERT INTO raw_records (id, organization_id, source, source_ref, payload, import_batch_id, row_number,
                         validation_status, validation_errors, match_status, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: AdvanceImportBatch :execrows
-- Counts a stored chunk, guarded by the count it was stored after: a second
-- worker on the same batch (a redelivered task) loses and rolls back.
UPDATE import_batches SET
    total_rows = total_rows + @rows, valid_rows = valid_rows + @valid, invalid_rows = invalid_rows + @invalid,
    updated_at = now()
WHERE id = @id AND total_rows = @stored_before AND status = 'processing';

-- name: CompleteImportBatch :one
UPDATE import_batches SET status = 'completed', statements = @statements, warnings = @warnings,
    completed_at = now(), updated_at = now()
WHERE id = @id AND status = 'processing'
RETURNING *;

-- name: FailImportBatch :one
-- Rows stored before the file broke are all invalid: none of them is
-- matched, and each says why.
UPDATE import_batches SET status = 'failed', error = @error::text, valid_rows = 0, invalid_rows = total_rows,
    completed_at = now(), updated_at = now()
WHERE id = @id AND status IN ('queued', 'processing')
RETURNING *;

-- name: InvalidateImportRows :exec
UPDATE raw_records SET validation_status = 'invalid', match_status = 'invalid',
    validation_errors = coalesce(validation_errors, '[]'::jsonb) || jsonb_build_array(@reason::text)
WHERE import_batch_id = @batch_id AND validation_status = 'valid';

-- name: QueuedImportRows :many
SELECT id FROM raw_records
WHERE import_batch_id = @batch_id AND match_status = 'queued'
ORDER BY row_number
LIMIT @lim;

-- name: ValidImportRows :many
-- A batch's valid rows in file order, a page after row_number @after.
SELECT id, row_number, payload FROM raw_records
WHERE import_batch_id = @batch_id AND validation_status = 'valid' AND row_number > @after::integer
ORDER BY row_number
LIMIT @lim;

-- name: CountMatchedImportRows :one
UPDATE import_batches SET matched_rows = (
    SELECT count(*) FROM raw_records WHERE import_batch_id = @id AND match_status = 'matched'
), updated_at = now()
WHERE import_batches.id = @id
RETURNING *;

-- name: ListImportRows :many
-- A batch's rows in file order, after the row a cursor names.
SELECT * FROM raw_records
WHERE organization_id = @organization_id AND import_batch_id = @batch_id
  AND (sqlc.narg(validation_status)::text IS NULL OR validation_status = sqlc.narg(validation_status))
  AND row_number > @after_row
ORDER BY row_number
LIMIT @lim OFFSET @off;

-- name: CountImportRows :one
SELECT count(*) FROM raw_records
WHERE organization_id = @organization_id AND import_batch_id = @batch_id
  AND (sqlc.narg(validation_status)::text IS NULL OR validation_status = sqlc.narg(validation_status));

-- name: QueuedLedgerRows :many
-- The next ledger rows of a batch to record as payment intents.
SELECT id, row_number, payload FROM raw_records
WHERE import_batch_id = @batch_id AND match_status = 'queued'
ORDER BY row_number
LIMIT @lim;

-- name: RecordLedgerRow :exec
-- A ledger row recorded as (or found to be) a payment intent.
UPDATE raw_records SET match_status = 'matched', payment_intent_id = @payment_intent_id, processed_at = now()
WHERE id = @id AND match_status = 'queued';

-- name: RejectLedgerRow :execrows
-- A ledger row the payment intents refuse (its externalReference exists
-- with other fields): invalid after all, with why, and counted so.
WITH rejected AS (
    UPDATE raw_records SET validation_status = 'invalid', match_status = 'invalid',
        validation_errors = coalesce(validation_errors, '[]'::jsonb) || @errors::jsonb, processed_at = now()
    WHERE raw_records.id = sqlc.arg(id)::uuid AND match_status = 'queued'
    RETURNING import_batch_id
)
UPDATE import_batches b SET valid_rows = valid_rows - 1, invalid_rows = invalid_rows + 1, updated_at = now()
FROM rejected WHERE b.id = rejected.import_batch_id;
