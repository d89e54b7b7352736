package worker

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/ledger"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	task := asynq.NewTask("evidence:match", nil)
	require.Zero(t, retryDelay(3, fmt.Errorf("run: %w", asynq.ErrLeaseExpired), task), "a dead worker's task runs again at once")
	deadlock := fmt.Errorf("match evidence: %w", &pgconn.PgError{Code: "40P01"})
	require.Equal(t, 100*time.Millisecond, retryDelay(0, deadlock, task))
	require.Equal(t, 500*time.Millisecond, retryDelay(4, deadlock, task))
	require.GreaterOrEqual(t, retryDelay(5, deadlock, task), time.Second, "a race lost five times backs off as usual")
	require.GreaterOrEqual(t, retryDelay(0, errors.New("boom"), task), time.Second, "other failures back off as usual")
	gone := fmt.Errorf("match evidence: %w", io.ErrUnexpectedEOF)
	require.Equal(t, time.Second, retryDelay(0, gone, task), "a database that went away is tried again soon")
	require.Equal(t, 10*time.Second, retryDelay(9, gone, task))
	require.Greater(t, retryDelay(10, gone, task), 10*time.Second, "then the usual backoff")
	busy := fmt.Errorf("run x: %w", ledger.ErrRunBusy)
	require.Equal(t, time.Second, retryDelay(20, busy, asynq.NewTask(ledger.TypeAutoMatch, nil)),
		"an auto-match that waited for the run's other one looks again soon: its wait was the backoff")
}
