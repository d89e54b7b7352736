package worker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	task := asynq.NewTask("evidence:match", nil)
	require.Zero(t, retryDelay(3, fmt.Errorf("run: %w", asynq.ErrLeaseExpired), task), "a dead worker's task runs again at once")
	deadlock := fmt.Errorf("match evidence: %w", &pgconn.PgError{Code: "40P01"})
	require.Equal(t, 100*time.Millisecond, retryDelay(0, deadlock, task))
	require.Equal(t, 500*time.Millisecond, retryDelay(4, deadlock, task))
	require.GreaterOrEqual(t, retryDelay(5, deadlock, task), time.Second, "a race lost five times backs off as usual")
	require.GreaterOrEqual(t, retryDelay(0, errors.New("postgres down"), task), time.Second, "other failures back off as usual")
}
