package worker

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// Two schedulers running by mistake enqueue one task per tick, not two.
func TestTwoSchedulersCollapseIntoOneTaskPerTick(t *testing.T) {
	t.Parallel()
	rdb, _ := dbtest.Redis(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := Periodic{Type: "test:tick", Every: time.Minute, Queue: "low"}

	clock := time.Date(2026, 11, 21, 10, 0, 5, 0, time.UTC)
	a := NewScheduler(asynq.NewClientFromRedisClient(rdb), logger, []Periodic{p})
	b := NewScheduler(asynq.NewClientFromRedisClient(rdb), logger, []Periodic{p})
	a.now = func() time.Time { return clock }
	b.now = func() time.Time { return clock.Add(40 * time.Second) } // same minute, later
	ctx := context.Background()

	a.Tick(ctx, p)
	b.Tick(ctx, p)
	a.Tick(ctx, p)

	insp := asynq.NewInspectorFromRedisClient(rdb)
	pending, err := insp.ListPendingTasks("low")
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, "test:tick:"+strconv.FormatInt(clock.Truncate(time.Minute).Unix(), 10), pending[0].ID)

	// The next minute is a new tick.
	b.now = func() time.Time { return clock.Add(time.Minute) }
	b.Tick(ctx, p)
	pending, err = insp.ListPendingTasks("low")
	require.NoError(t, err)
	require.Len(t, pending, 2)
}
