package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/rule"
)

func TestPeriodicTasksIncludeExpireIdempotency(t *testing.T) {
	t.Parallel()
	var found []Periodic
	for _, p := range PeriodicTasks(time.Minute) {
		if p.Type == TypeExpireIdempotency {
			found = append(found, p)
		}
	}
	require.Len(t, found, 1, "%+v", PeriodicTasks(time.Minute))
	require.Equal(t, "maintenance:expire_idempotency", found[0].Type)
	require.Equal(t, "low", found[0].Queue)
	require.Contains(t, Queues, found[0].Queue, "the queue is one the worker polls")
	require.Equal(t, 10*time.Minute, found[0].Every)
}

// sla:score runs at the configured interval, on a queue the worker polls.
func TestPeriodicTasksIncludeSLAScore(t *testing.T) {
	t.Parallel()
	var found []Periodic
	for _, p := range PeriodicTasks(2 * time.Minute) {
		if p.Type == TypeSLAScore {
			found = append(found, p)
		}
	}
	require.Len(t, found, 1)
	require.Equal(t, "sla:score", found[0].Type)
	require.Equal(t, 2*time.Minute, found[0].Every)
	require.Contains(t, Queues, found[0].Queue)
}

// The expiry task deletes records past expires_at, whatever their status,
// keeps live ones, and is harmless when delivered again.
func TestExpireIdempotencyDeletesOnlyExpiredRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Postgres(t)
	q := db.New(pool)
	org, err := q.CreateOrganization(ctx, "Acme")
	require.NoError(t, err)
	other, err := q.CreateOrganization(ctx, "Other")
	require.NoError(t, err)

	insert := func(org any, key, status, expires string) {
		t.Helper()
		_, err := pool.Exec(ctx, `
			INSERT INTO idempotency_records (organization_id, operation, key, fingerprint, status, claim_token, locked_until, expires_at)
			VALUES ($1, 'POST /v1/api-keys', $2, '\x01', $3, gen_random_uuid(), now() + interval '1 minute', now() + $4::interval)`,
			org, key, status, expires)
		require.NoError(t, err)
	}
	insert(org.ID, "expired-completed", "completed", "-1 hour")
	insert(org.ID, "expired-processing", "processing", "-1 second")
	insert(other.ID, "expired-other-org", "completed", "-25 hours")
	insert(org.ID, "live-completed", "completed", "23 hours")
	insert(org.ID, "live-processing", "processing", "1 minute")
	insert(other.ID, "live-other-org", "completed", "1 hour")
	// More expired records than one delete batch (5000) holds.
	_, err = pool.Exec(ctx, `
		INSERT INTO idempotency_records (organization_id, operation, key, fingerprint, status, claim_token, locked_until, expires_at)
		SELECT $1, 'POST /v1/payment-intents', 'bulk-' || i, '\x01', 'completed', gen_random_uuid(), now(), now() - interval '2 days'
		FROM generate_series(1, 10001) AS i`, org.ID)
	require.NoError(t, err)

	keys := func() []string {
		t.Helper()
		rows, err := pool.Query(ctx, "SELECT key FROM idempotency_records ORDER BY key")
		require.NoError(t, err)
		ks, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return ks
	}
	live := []string{"live-completed", "live-other-org", "live-processing"}
	require.Len(t, keys(), 10001+6)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	handler := expireIdempotency(idempotency.NewStore(pool, time.Minute, 24*time.Hour), logger)
	task := asynq.NewTask(TypeExpireIdempotency, nil)

	require.NoError(t, handler.ProcessTask(ctx, task))
	require.Equal(t, live, keys())
	var line struct {
		Msg     string `json:"msg"`
		Deleted int64  `json:"deleted"`
	}
	require.Equal(t, 1, strings.Count(logs.String(), "\n"), logs.String())
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line), logs.String())
	require.Equal(t, "expired idempotency records", line.Msg)
	require.EqualValues(t, 10001+3, line.Deleted)

	// Redelivery: nothing more to delete, nothing logged, same state.
	logs.Reset()
	require.NoError(t, handler.ProcessTask(ctx, task))
	require.Equal(t, live, keys())
	require.Empty(t, logs.String())
}

// A database failure is returned so asynq retries the task.
func TestExpireIdempotencyReportsDatabaseErrors(t *testing.T) {
	t.Parallel()
	pool := dbtest.Postgres(t)
	handler := expireIdempotency(idempotency.NewStore(pool, time.Minute, 24*time.Hour), slog.New(slog.DiscardHandler))
	pool.Close()
	err := handler.ProcessTask(context.Background(), asynq.NewTask(TypeExpireIdempotency, nil))
	require.Error(t, err)
	require.Contains(t, err.Error(), "expire idempotency records")
}

// The worker serves sla:score: a case two hours into a one-hour SLA, still
// missing its legs, is flagged by the task the scheduler enqueues.
func TestWorkerScoresSLA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Postgres(t)
	rdb, _ := dbtest.Redis(t)
	q := db.New(pool)
	org, err := q.CreateOrganization(ctx, "Acme")
	require.NoError(t, err)
	snap, err := json.Marshal(rule.Default(rule.PaymentStablecoin))
	require.NoError(t, err)
	var caseID string
	require.NoError(t, pool.QueryRow(ctx, `
		WITH s AS (
			INSERT INTO rule_snapshots (organization_id, digest, snapshot) VALUES ($1, sha256(convert_to($2::text, 'UTF8')), $2::text::jsonb) RETURNING id
		), pi AS (
			INSERT INTO payment_intents (organization_id, external_reference, source_amount, source_currency,
				destination_amount, destination_currency, payment_type, direction, created_at)
			VALUES ($1, 'late', 100, 'USD', 100, 'USDC', 'stablecoin', 'debit', now() - interval '2 hours') RETURNING id, created_at
		)
		INSERT INTO reconciliation_cases (organization_id, payment_intent_id, expected_amount, expected_currency,
			required_legs_total, coverage_provider, coverage_chain, coverage_bank, coverage_file, rule_snapshot_id, created_at)
		SELECT $1, pi.id, 100, 'USDC', 2, 'missing', 'missing', 'not_required', 'not_required', s.id, pi.created_at FROM pi, s
		RETURNING id::text`, org.ID, string(snap)).Scan(&caseID))

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := New(Config{Concurrency: 2, ShutdownTimeout: time.Second}, Deps{Logger: logger, Pool: pool, Redis: rdb})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })

	for _, p := range PeriodicTasks(time.Minute) {
		if p.Type == TypeSLAScore {
			NewScheduler(asynq.NewClientFromRedisClient(rdb), logger, []Periodic{p}).Tick(ctx, p)
		}
	}
	require.Eventually(t, func() bool {
		var risk bool
		var verdict *string
		require.NoError(t, pool.QueryRow(ctx, `SELECT sla_risk, verdict FROM reconciliation_cases WHERE id = $1`, caseID).Scan(&risk, &verdict))
		return risk && verdict != nil && *verdict == "sla_risk"
	}, 10*time.Second, 50*time.Millisecond)
}
