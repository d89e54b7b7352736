package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// olBehind leaves one evidence:match task pending, with no worker to take
// it, until the queue is more than behind; it returns the task's id.
func olBehind(t *testing.T, rdb redis.UniversalClient, org uuid.UUID, behind time.Duration) string {
	t.Helper()
	job := tasks.NewEvidenceMatch(tasks.EvidenceMatch{OrganizationID: org, RawRecordID: uuid.New()})
	// Shares the test's client: never closed.
	require.NoError(t, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(rdb)).Enqueue(context.Background(), job))
	time.Sleep(behind + 100*time.Millisecond)
	return job.ID
}

func olCount(t *testing.T, b *bundle) [3]int64 {
	t.Helper()
	return [3]int64{
		evCount(t, b, "SELECT count(*) FROM raw_records"),
		evCount(t, b, "SELECT count(*) FROM task_outbox"),
		evCount(t, b, "SELECT count(*) FROM idempotency_records"),
	}
}

// While the match queue is further behind than the bound, every evidence
// write is refused with 503 overloaded before anything is stored or the
// Idempotency-Key claimed; once the queue caught up, the same request with
// the same key is accepted.
func TestEvidenceRefusedWhileQueueIsBehind(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.OverloadQueueLatency = time.Second })
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	taskID := olBehind(t, b.redis, org, time.Second)

	bodies := map[string]string{
		"provider": `{"provider":"acme_pay","providerTransferId":"tr_ol","status":"completed","amount":{"amount":"10.00","currency":"USD"}}`,
		"onchain": `{"chainFamily":"evm","chainId":1,"txHash":"` + evTxHash + `","status":"confirmed",
			"amount":{"amount":"10.00","currency":"USDC"},"toAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}`,
		"bank": `{"direction":"credit","amount":{"amount":"10.00","currency":"EUR"},"status":"booked","bookingDate":"2026-01-31","bankReference":"BR-ol"}`,
	}
	idemKey := uuid.NewString()
	post := func(source string) *httptest.ResponseRecorder {
		return b.do(req{method: "POST", path: "/v1/evidence/" + source, token: key, body: bodies[source],
			headers: map[string]string{"Idempotency-Key": idemKey}})
	}
	for _, source := range []string{"provider", "onchain", "bank", "provider"} {
		rec := post(source)
		e := envelope(t, rec, http.StatusServiceUnavailable, CodeOverloaded)
		require.Contains(t, e.Message, "behind by", source)
		after, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		require.NoError(t, err, "Retry-After is whole seconds: %q", rec.Header().Get("Retry-After"))
		require.GreaterOrEqual(t, after, 1)
		require.LessOrEqual(t, after, 30)
		require.Contains(t, e.Message, "Retry after "+humanSeconds(after))
		require.Empty(t, rec.Header().Get(headerIdemReplay), "refused before the idempotency claim")
	}
	require.Equal(t, [3]int64{}, olCount(t, b), "nothing stored: no raw record, no outbox row, no idempotency record")

	rec := b.do(req{method: "GET", path: "/v1/evidence", token: key})
	require.Equal(t, http.StatusOK, rec.Code, "reads are not refused: %s", rec.Body.String())

	// The queue catches up (its task is gone); within a reading interval the
	// same request with the same key goes through.
	require.NoError(t, asynq.NewInspectorFromRedisClient(b.redis).DeleteTask(tasks.QueueMatch, taskID))
	require.Eventually(t, func() bool {
		rec = post("provider")
		return rec.Code != http.StatusServiceUnavailable
	}, 5*time.Second, 100*time.Millisecond, "still refused after the queue drained")
	r := evReceipt(t, rec, http.StatusAccepted)
	require.Equal(t, "queued", r.Status)
	require.Equal(t, "false", rec.Header().Get(headerIdemReplay))

	replay := post("provider")
	require.Equal(t, http.StatusAccepted, replay.Code, replay.Body.String())
	require.Equal(t, "true", replay.Header().Get(headerIdemReplay))
	require.Equal(t, r.RawRecordID, evReceipt(t, replay, http.StatusAccepted).RawRecordID)
	require.Equal(t, [3]int64{1, 1, 1}, olCount(t, b))
}

// With the bound off nothing is refused, however far behind the queue is.
func TestEvidenceOverloadOff(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.OverloadQueueLatency = 0 })
	org := b.org("Acme")
	key, _ := b.apiKey(org)
	olBehind(t, b.redis, org, time.Second)

	r := evReceipt(t, evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_off","status":"completed",
		"amount":{"amount":"10.00","currency":"USD"}}`), http.StatusAccepted)
	require.Equal(t, "queued", r.Status)
}

func TestOverloadRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		behind, bound time.Duration
		want          int
	}{
		{1100 * time.Millisecond, time.Second, 1},
		{61 * time.Second, time.Minute, 1},
		{75200 * time.Millisecond, time.Minute, 16},
		{90 * time.Second, time.Minute, 30},
		{time.Hour, time.Minute, 30},
	} {
		require.Equal(t, tc.want, overloadRetryAfter(tc.behind, tc.bound), "%s behind, bound %s", tc.behind, tc.bound)
	}
}

// olBacklog is a backlog on a clock the test moves, whose requests wait as
// long as a reading takes (the production bound would make a slow reading
// under -race look like a stale one).
func olBacklog(rdb redis.UniversalClient, logs *syncBuffer) (*backlog, func(time.Duration)) {
	bl := newBacklog(rdb, tasks.QueueMatch, slog.New(slog.NewJSONHandler(logs, nil)))
	bl.wait = 10 * time.Second
	var mu sync.Mutex
	now := time.Now()
	bl.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	return bl, func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

// One reading a second, shared: a task enqueued after a reading is seen
// by the next reading only.
func TestBacklogReadsOncePerInterval(t *testing.T) {
	t.Parallel()
	rdb, _ := dbtest.Redis(t)
	logs := &syncBuffer{}
	bl, advance := olBacklog(rdb, logs)
	ctx := context.Background()

	require.Zero(t, bl.Latency(ctx), "a queue nothing was enqueued to is not behind")
	taskID := olBehind(t, rdb, uuid.New(), 0)
	var wg sync.WaitGroup
	got := make([]time.Duration, 20)
	for i := range got {
		wg.Go(func() { got[i] = bl.Latency(ctx) })
	}
	wg.Wait()
	require.Equal(t, make([]time.Duration, 20), got, "concurrent requests share the reading of this second")

	advance(time.Second)
	behind := bl.Latency(ctx)
	require.GreaterOrEqual(t, behind, 100*time.Millisecond, "the next reading sees the pending task")

	require.NoError(t, asynq.NewInspectorFromRedisClient(rdb).DeleteTask(tasks.QueueMatch, taskID))
	require.Equal(t, behind, bl.Latency(ctx), "still the reading of this second")
	advance(time.Second)
	require.Zero(t, bl.Latency(ctx), "an empty queue is not behind")
	require.NotContains(t, logs.String(), "WARN")
}

// A Redis that cannot be read lets evidence through, with one warning per
// reading (not per request).
func TestBacklogFailsOpen(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	require.NoError(t, rdb.Close())
	logs := &syncBuffer{}
	bl, advance := olBacklog(rdb, logs)
	ctx := context.Background()

	for range 3 {
		require.Zero(t, bl.Latency(ctx))
	}
	require.Equal(t, 1, strings.Count(logs.String(), "cannot read queue latency"), logs.String())
	advance(time.Second)
	require.Zero(t, bl.Latency(ctx))
	require.Equal(t, 2, strings.Count(logs.String(), "cannot read queue latency"), logs.String())
	require.Contains(t, logs.String(), `"level":"WARN"`)
}
