package worker

import (
	"bytes"
	"context"
	"encoding/json"
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
)

func TestPeriodicTasksIncludeExpireIdempotency(t *testing.T) {
	t.Parallel()
	var found []Periodic
	for _, p := range PeriodicTasks() {
		if p.Type == TypeExpireIdempotency {
			found = append(found, p)
		}
	}
	require.Len(t, found, 1, "%+v", PeriodicTasks())
	require.Equal(t, "maintenance:expire_idempotency", found[0].Type)
	require.Equal(t, "low", found[0].Queue)
	require.Contains(t, Queues, found[0].Queue, "the queue is one the worker polls")
	require.Equal(t, 10*time.Minute, found[0].Every)
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
