package metrics

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// TestQueueCollectorReadsRedisOncePerTTL: scrapes within the TTL serve the
// last reading, however the queue changed meanwhile; the first scrape after
// it reads Redis again.
func TestQueueCollectorReadsRedisOncePerTTL(t *testing.T) {
	t.Parallel()
	rdb, _ := dbtest.Redis(t)
	client := asynq.NewClientFromRedisClient(rdb)
	enqueue := func() {
		_, err := client.Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue("default"))
		require.NoError(t, err)
	}
	enqueue()

	r := New()
	r.WatchQueues(asynq.NewInspectorFromRedisClient(rdb), time.Minute)
	clock := time.Now()
	r.Queues.now = func() time.Time { return clock }
	pending := func() float64 {
		return testutil.ToFloat64(gaugeOf(t, r, "reconlayer_queue_tasks", map[string]string{"queue": "default", "state": "pending"}))
	}
	require.Equal(t, 1.0, pending())

	enqueue()
	clock = clock.Add(59 * time.Second)
	require.Equal(t, 1.0, pending(), "within the TTL the cached reading is served")

	clock = clock.Add(time.Second)
	require.Equal(t, 2.0, pending(), "past the TTL Redis is read again")
	require.Equal(t, 2.0, testutil.ToFloat64(gaugeOf(t, r, "reconlayer_queue_size", map[string]string{"queue": "default"})))
	require.Equal(t, 0.0, testutil.ToFloat64(gaugeOf(t, r, "reconlayer_worker_servers", nil)), "no worker runs")
	require.Equal(t, 0.0, testutil.ToFloat64(r.Queues.errors))

	// Redis gone: the failure is counted, the last reading still served,
	// and the next attempt waits for the TTL.
	require.NoError(t, rdb.Close())
	clock = clock.Add(time.Minute)
	require.Equal(t, 2.0, pending())
	require.Equal(t, 1.0, testutil.ToFloat64(r.Queues.errors))
	require.Equal(t, 2.0, pending())
	require.Equal(t, 1.0, testutil.ToFloat64(r.Queues.errors), "no second attempt within the TTL")
}
