-- +goose Up
-- The auto-match task that holds a running ledger run. asynq hands a task
-- to one worker at a time, so the same task arriving again means the worker
-- that held it died: it takes the run over at once instead of waiting for
-- the run to look stale.
ALTER TABLE ledger_runs ADD COLUMN match_task_id text;

-- +goose Down
ALTER TABLE ledger_runs DROP COLUMN match_task_id;
