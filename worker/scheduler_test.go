package worker

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
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

// Two schedulers running for a few seconds against one worker: every tick is
// executed once, not once per scheduler.
func TestTwoSchedulersRunEachTickOnce(t *testing.T) {
	t.Parallel()
	rdb, _ := dbtest.Redis(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := Periodic{Type: "test:count", Every: time.Second, Queue: "default"}

	var mu sync.Mutex
	runs := map[string]int{}
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 2, Queues: map[string]int{"default": 1},
		TaskCheckInterval: 50 * time.Millisecond, Logger: asynqLogger{logger}, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(p.Type, func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		mu.Lock()
		runs[id]++
		mu.Unlock()
		return nil
	})
	require.NoError(t, srv.Start(mux))
	defer srv.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 300 * time.Millisecond) // started apart, as two deployments would be
			_ = NewScheduler(asynq.NewClientFromRedisClient(rdb), logger, []Periodic{p}).Run(ctx)
		})
	}
	wg.Wait()
	// Let the worker finish the last tick's task.
	require.Eventually(t, func() bool {
		pending, _ := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks("default")
		return len(pending) == 0
	}, 5*time.Second, 50*time.Millisecond)
	time.Sleep(200 * time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(runs), 3, "a tick a second for 3.5 s: %v", runs)
	require.LessOrEqual(t, len(runs), 5, "%v", runs)
	for id, n := range runs {
		require.Equal(t, 1, n, "tick %s ran %d times", id, n)
	}
}
