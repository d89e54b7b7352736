package main

// Fault scenarios of the scale-out issue, each bounded in time and each
// printing "fault: …: accepted N, present N, duplicates 0" for make
// test-faults: a worker SIGKILLed in the middle of an import and of a
// ledger run's auto-match, a scheduler started twice, a webhook receiver
// that hangs.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// faultRecoverWithin is how long a new worker may take to finish what a
// SIGKILLed one held: asynq hands a dead worker's task out again only after
// its lease (30 s) has expired for 30 s, at its recoverer's next pass (every
// minute): up to about 125 s (see TestFaultWorkerKilledMidBatchLosesNothing).
const faultRecoverWithin = 170 * time.Second

func faultEnv(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	_, redisURL := dbtest.Redis(t)
	env := e2eEnv(map[string]string{
		"DATABASE_URL": dbtest.EmptyDatabaseURL(t), "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off",
		"RECONLAYER_SESSION_SECRET":        adminSecret,
		"RECONLAYER_RATE_LIMIT_PER_MINUTE": "1000000",
	}, extra...)
	e2eMigrateUp(t, env)
	return env
}

// waitFor polls cond every 20 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "%s: not within %s", what, within)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultWorkerKilledMidImport: a worker is SIGKILLed while it parses a
// 30,000-entry camt.053; a new worker resumes where the last stored chunk
// ended and the batch completes with every entry exactly once.
func TestFaultWorkerKilledMidImport(t *testing.T) {
	t.Parallel()
	const entries = 30_000
	env := faultEnv(t, "RECONLAYER_EVIDENCE_WAIT", "0s")
	_, base := e2eStartServing(t, "api", env, "api")
	e2eStart(t, "scheduler", env, "scheduler")
	first := e2eStart(t, "worker 1", env, "worker")
	_, key := e2eOrgAndKey(t, env["DATABASE_URL"])
	c := newE2EClient(base, key)
	pool := e2ePool(t, env["DATABASE_URL"])

	code, _, batch := c.call(t, http.MethodPost, "/v1/import-batches", map[string]any{
		"originalFileName": "big.xml", "contentBase64": base64.StdEncoding.EncodeToString(generateCAMT(entries)),
	}, nil)
	require.Equal(t, http.StatusCreated, code, "%v", batch)
	id := batch["id"].(string)
	stored := func() int {
		return e2eCount(t, pool, `SELECT count(*) FROM raw_records WHERE import_batch_id = $1`, id)
	}
	waitFor(t, 2*time.Minute, "the worker starts storing rows", func() bool { return stored() > 0 })
	first.kill(t)
	atKill := stored()
	require.Less(t, atKill, entries, "the batch finished before the kill; nothing was tested")
	t.Logf("worker SIGKILLed with %d of %d rows stored", atKill, entries)

	e2eStart(t, "worker 2", env, "worker")
	waitFor(t, faultRecoverWithin, "the batch completes", func() bool {
		return e2eCount(t, pool, `SELECT count(*) FROM import_batches WHERE id = $1 AND status = 'completed'`, id) == 1
	})
	present := stored()
	dups := e2eCount(t, pool, `SELECT count(*) - count(DISTINCT row_number) FROM raw_records WHERE import_batch_id = $1`, id)
	fmt.Printf("fault: worker SIGKILLed mid-import (%d of %d rows stored): accepted %d, present %d, duplicates %d\n",
		atKill, entries, entries, present, dups)
	require.Equal(t, entries, present)
	require.Zero(t, dups)
	require.Equal(t, entries, e2eCount(t, pool, `SELECT valid_rows FROM import_batches WHERE id = $1`, id))
	require.Equal(t, 1, e2eCount(t, pool, `SELECT count(*) FROM event_outbox WHERE event_type = 'import_batch.completed'`))
}

// TestFaultWorkerKilledMidAutoMatch: a worker is SIGKILLed while it
// auto-matches a 20,000-line ledger run; a new worker finishes the run with
// the matches and discrepancies a clean run of the same books makes (run on
// a database of its own), no line or entry in two matches.
func TestFaultWorkerKilledMidAutoMatch(t *testing.T) {
	t.Parallel()
	const lines = 20_000
	var clean, killed autoMatched
	// Both runs at once; the group returns when both have.
	t.Run("runs", func(t *testing.T) {
		t.Run("clean", func(t *testing.T) { t.Parallel(); clean = autoMatchRun(t, lines, false) })
		t.Run("killed", func(t *testing.T) { t.Parallel(); killed = autoMatchRun(t, lines, true) })
	})
	require.False(t, t.Failed())
	fmt.Printf("fault: worker SIGKILLed mid-auto-match: lines %d, matches %d and discrepancies %d (a clean run: %d and %d), duplicates %d\n",
		lines, killed.matches, killed.discrepancies, clean.matches, clean.discrepancies, killed.duplicates)
	require.Equal(t, clean.matches, killed.matches)
	require.Equal(t, clean.discrepancies, killed.discrepancies)
	require.Zero(t, killed.duplicates)
	require.Zero(t, clean.duplicates)
}

type autoMatched struct{ matches, discrepancies, duplicates int }

// autoMatchRun books generateRun(lines) on a fresh database and auto-matches
// it, SIGKILLing the worker once the run is running when kill is set.
func autoMatchRun(t *testing.T, lines int, kill bool) autoMatched {
	env := faultEnv(t)
	_, base := e2eStartServing(t, "api", env, "api")
	e2eStart(t, "scheduler", env, "scheduler")
	first := e2eStart(t, "worker 1", env, "worker")
	_, key := e2eOrgAndKey(t, env["DATABASE_URL"])
	c := newE2EClient(base, key)
	pool := e2ePool(t, env["DATABASE_URL"])

	csv, entries := generateRun(lines)
	ledgerID := e2eLedger(t, c, entries)
	runID := e2eRunWithSource(t, c, ledgerID, "manual", "lines.csv", csv)

	code, _, _, err := c.do(http.MethodPost, "/v1/ledgers/reconciliation/runs/"+runID+"/auto-match", nil,
		map[string]string{"Prefer": "respond-async"})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code)
	completed := func() bool {
		return e2eCount(t, pool, `SELECT count(*) FROM ledger_runs WHERE id = $1 AND status = 'completed'`, runID) == 1
	}
	if kill {
		waitFor(t, 2*time.Minute, "the run starts", func() bool {
			return e2eCount(t, pool, `SELECT count(*) FROM ledger_runs WHERE id = $1 AND status = 'running'`, runID) == 1
		})
		first.kill(t)
		require.False(t, completed(), "the run completed before the kill; nothing was tested")
		t.Logf("worker SIGKILLed mid-auto-match with %d matches stored",
			e2eCount(t, pool, `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, runID))
		e2eStart(t, "worker 2", env, "worker")
	}
	waitFor(t, faultRecoverWithin, "the run completes", completed)
	return autoMatched{
		matches:       e2eCount(t, pool, `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, runID),
		discrepancies: e2eCount(t, pool, `SELECT count(*) FROM ledger_discrepancies WHERE run_id = $1`, runID),
		duplicates: e2eCount(t, pool, `SELECT count(*) FROM (SELECT item_id FROM ledger_match_members
			WHERE run_id = $1 AND active AND item_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d`, runID) +
			e2eCount(t, pool, `SELECT count(*) FROM (SELECT entry_id FROM ledger_match_members
			WHERE run_id = $1 AND active AND entry_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d`, runID) +
			e2eCount(t, pool, `SELECT count(*) FROM ledger_matches m WHERE run_id = $1
			AND (SELECT count(*) FROM ledger_match_members x WHERE x.match_id = m.id) < 2`, runID),
	}
}

// TestFaultSchedulerStartedTwice: two schedulers tick the same periodic
// tasks; each tick runs once, not twice.
func TestFaultSchedulerStartedTwice(t *testing.T) {
	t.Parallel()
	env := faultEnv(t, "RECONLAYER_SLA_SCORE_INTERVAL", "1s")
	_, workerBase := e2eStartMetrics(t, "worker", env, "worker")
	start := time.Now()
	e2eStart(t, "scheduler 1", env, "scheduler")
	e2eStart(t, "scheduler 2", env, "scheduler")
	time.Sleep(8 * time.Second)
	s := scrapeMetrics(t, workerBase)
	ticks := time.Since(start).Seconds()
	runs := s.value(t, "reconlayer_tasks_processed_total", map[string]string{"task_type": "sla:score"})
	fmt.Printf("fault: scheduler started twice: %.0f one-second ticks, %.0f SLA sweeps run, duplicates %.0f\n",
		ticks, runs, max(0, runs-(ticks+2)))
	require.GreaterOrEqual(t, runs, ticks/2, "the sweeps run")
	require.LessOrEqual(t, runs, ticks+2, "each one-second tick ran once (±1 at either end)")
}

// TestFaultWebhookReceiverHangs: one endpoint never answers; the other
// still gets every event at once, evidence is still matched within its
// wait, and the hanging endpoint's attempts end as timeouts to retry.
func TestFaultWebhookReceiverHangs(t *testing.T) {
	t.Parallel()
	const n = 30
	env := faultEnv(t, "RECONLAYER_WEBHOOK_TIMEOUT", "1s", "RECONLAYER_EVIDENCE_WAIT", "10s",
		"RECONLAYER_WEBHOOK_ALLOW_INSECURE", "true", "RECONLAYER_WEBHOOK_ALLOW_PRIVATE", "true")
	_, base := e2eStartServing(t, "api", env, "api")
	e2eStart(t, "scheduler", env, "scheduler")
	e2eStart(t, "worker", env, "worker")
	org, key := e2eOrgAndKey(t, env["DATABASE_URL"])
	c := newE2EClient(base, key)
	pool := e2ePool(t, env["DATABASE_URL"])

	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })
	var mu sync.Mutex
	got := map[string]int{}
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	t.Cleanup(ok.Close)
	for _, url := range []string{hang.URL, ok.URL} {
		e2eWebhookEndpoint(t, base, env["DATABASE_URL"], org, url+"/hooks", "payment_intent.created")
	}

	for i := range n {
		ref := "hang_" + strconv.Itoa(i)
		code, _, intent := c.call(t, http.MethodPost, "/v1/payment-intents", e2eIntent(ref, "10.00"), nil)
		require.Equal(t, http.StatusCreated, code, "%v", intent)
	}
	code, _, receipt := c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_hang_0", "hang_0", "10.00"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", receipt)
	require.Equal(t, "matched", receipt["status"], "matching goes on while an endpoint hangs: %v", receipt)

	waitFor(t, time.Minute, "the healthy endpoint gets every event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	waitFor(t, time.Minute, "the hanging endpoint's first attempts time out", func() bool {
		return e2eCount(t, pool, `SELECT count(*) FROM webhook_attempts a JOIN webhook_endpoints e ON e.url LIKE $1 || '%'
			JOIN webhook_deliveries d ON d.id = a.delivery_id AND d.endpoint_id = e.id WHERE a.outcome = 'failed'`, hang.URL) >= n
	})
	pending := e2eCount(t, pool, `SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE e.url LIKE $1 || '%' AND d.status = 'pending' AND d.next_attempt_at IS NOT NULL`, hang.URL)
	mu.Lock()
	twice := 0
	for _, k := range got {
		if k > 1 {
			twice++
		}
	}
	received := len(got)
	mu.Unlock()
	fmt.Printf("fault: webhook receiver hangs: accepted %d, delivered to the healthy endpoint %d, duplicates %d; %d deliveries to the hanging one scheduled for retry\n",
		n, received, twice, pending)
	require.Equal(t, n, received)
	require.Zero(t, twice)
	require.Equal(t, n, pending, "every delivery to the hanging endpoint waits for its next attempt")
}
