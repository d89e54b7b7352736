package main

// End-to-end tests of evidence through the real binary: the README
// quickstart, a worker killed in the middle of a backlog, and Redis going
// away while evidence keeps arriving (DESIGN §1: Postgres is the source of
// truth, Redis a work queue; §3: asynchronous writes and the outbox).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// e2eBuffer collects a child's output; the child writes it while the test
// reads it, so it is locked.
type e2eBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *e2eBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *e2eBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines.
func (b *e2eBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// e2eProc is a child process that is killed when the test ends, and whose
// output is printed when the test failed.
type e2eProc struct {
	name string
	cmd  *exec.Cmd
	out  *e2eBuffer
	done chan struct{}
	err  error // set before done is closed
}

// e2eStartCmd starts path with a clean environment plus env.
func e2eStartCmd(t *testing.T, name, path string, env map[string]string, args ...string) *e2eProc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &e2eProc{name: name, cmd: cmd, out: &e2eBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	require.NoError(t, cmd.Start(), "start %s", name)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("--- %s (pid %d, %v): last lines of its output:\n%s", name, cmd.Process.Pid, p.err, p.out.tail(60))
		}
	})
	return p
}

// e2eStart starts the reconlayer binary.
func e2eStart(t *testing.T, name string, env map[string]string, args ...string) *e2eProc {
	t.Helper()
	return e2eStartCmd(t, name, binary(t), env, args...)
}

// exited reports whether the process has ended, and how.
func (p *e2eProc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *e2eProc) kill(t *testing.T) {
	if ok, _ := p.exited(); ok {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s (pid %d) still running 30s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *e2eProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
		require.NoError(t, p.err, "%s must exit 0 on SIGTERM", p.name)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: no exit within 60s of SIGTERM", p.name)
	}
}

// e2eMigrateUp runs `reconlayer migrate up` with env and waits for it.
func e2eMigrateUp(t *testing.T, env map[string]string) {
	t.Helper()
	migrate := e2eStart(t, "migrate up", env, "migrate", "up")
	select {
	case <-migrate.done:
		require.NoError(t, migrate.err, "migrate up")
	case <-time.After(2 * time.Minute):
		t.Fatal("migrate up did not finish within 2 minutes")
	}
}

// e2eEnv copies base and adds the pairs kv.
func e2eEnv(base map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// e2eStartServing starts a mode that serves HTTP (api or all) on a free
// address and waits until /ready answers 200. A port grabbed by someone else
// between freeAddr and the bind is retried on another port.
func e2eStartServing(t *testing.T, name string, env map[string]string, mode string) (*e2eProc, string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		p := e2eStart(t, name, e2eEnv(env, "RECONLAYER_HTTP_ADDR", addr), mode)
		base := "http://" + addr
		err := e2eWaitReady(p, base, 2*time.Minute)
		if err == nil {
			return p, base
		}
		if attempt < 3 && strings.Contains(p.out.String(), "reconlayer: RECONLAYER_HTTP_ADDR: ") {
			continue
		}
		t.Fatalf("%s: %v", name, err)
	}
}

// e2eWaitReady polls /ready until it answers 200, the process exits, or the
// time is up.
func e2eWaitReady(p *e2eProc, base string, within time.Duration) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(within)
	for {
		resp, err := hc.Get(base + "/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if ok, err := p.exited(); ok {
			return fmt.Errorf("exited before it was ready: %v", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// e2eClient calls the api with an API key, through the client package
// with its retries off: these tests count every answer and retry on their
// own terms.
type e2eClient struct {
	api *client.Client
	hc  *http.Client // the client's; a test may shorten its Timeout
}

func newE2EClient(base, key string) *e2eClient {
	// Plenty of connections: some tests send many requests at once.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	hc := &http.Client{Timeout: 60 * time.Second, Transport: tr}
	return &e2eClient{hc: hc, api: client.New(base, client.WithCredential(key), client.WithHTTPClient(hc),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))}
}

// do sends one request; POSTs get a fresh Idempotency-Key unless hdr has one.
// Any answer is returned as it came, an error only when none did. It does
// not fail the test, so goroutines may use it.
func (c *e2eClient) do(method, path string, body any, hdr map[string]string) (int, http.Header, []byte, error) {
	opts := make([]client.RequestOption, 0, len(hdr))
	for k, v := range hdr {
		if http.CanonicalHeaderKey(k) == "Idempotency-Key" {
			opts = append(opts, client.IdempotencyKey(v))
		} else {
			opts = append(opts, client.Header(k, v))
		}
	}
	resp, err := c.api.Do(context.Background(), method, path, body, nil, opts...)
	if resp == nil {
		return 0, nil, nil, err
	}
	if apiErr := (*client.Error)(nil); errors.As(err, &apiErr) {
		err = nil // an answer outside 2xx is for the test to judge
	}
	return resp.StatusCode, resp.Header, resp.Body, err
}

// call is do for the test goroutine: it decodes a JSON object answer.
func (c *e2eClient) call(t *testing.T, method, path string, body any, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	code, h, b, err := c.do(method, path, body, hdr)
	require.NoError(t, err, "%s %s", method, path)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "%s %s answered %d: %s", method, path, code, b)
	return code, h, out
}

// e2eIntent is a paymentType "other" intent of amount USD.
func e2eIntent(ref, amount string) map[string]any {
	return map[string]any{"externalReference": ref, "sourceAmount": amount, "sourceCurrency": "USD", "paymentType": "other"}
}

// e2eProviderEvidence is completed provider evidence for an intent.
func e2eProviderEvidence(transferID, ref, amount string) map[string]any {
	return map[string]any{
		"provider": "acmepay", "providerTransferId": transferID, "status": "completed",
		"amount": map[string]any{"amount": amount, "currency": "USD"}, "externalReference": ref,
	}
}

// e2eWebhookEndpoint subscribes url to events with a dashboard session
// (endpoints need one) and returns the endpoint as created.
func e2eWebhookEndpoint(t *testing.T, base, dbURL, org, url string, events ...string) map[string]any {
	t.Helper()
	session, _ := adminJSON(t, map[string]string{"DATABASE_URL": dbURL, "RECONLAYER_SESSION_SECRET": adminSecret},
		"session-token", "--org", org, "--user", "me")["token"].(string)
	code, _, endpoint := newE2EClient(base, session).call(t, http.MethodPost, "/v1/webhook-endpoints",
		map[string]any{"url": url, "subscribedEvents": events}, nil)
	require.Equal(t, http.StatusCreated, code, "%v", endpoint)
	return endpoint
}

// e2eOrgAndKey bootstraps an organization and an API key with every scope
// through `reconlayer admin`, which needs only DATABASE_URL.
func e2eOrgAndKey(t *testing.T, dbURL string) (org, key string) {
	t.Helper()
	env := map[string]string{"DATABASE_URL": dbURL}
	org, _ = adminJSON(t, env, "create-org", "--name", "Acme")["organizationId"].(string)
	_, err := uuid.Parse(org)
	require.NoError(t, err, "organizationId %q", org)
	key, _ = adminJSON(t, env, "create-api-key", "--org", org, "--name", "quickstart")["plaintextKey"].(string)
	require.True(t, strings.HasPrefix(key, "rl_live_"), key)
	return org, key
}

func e2ePool(t *testing.T, dbURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// e2eCount runs a count query.
func e2eCount(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(&n), sql)
	return n
}

// TestQuickstartWalkthrough follows the README with `reconlayer all` on an
// empty database: bootstrap with admin, an intent, its provider evidence,
// the reconciled case; then evidence short of the intent's amount.
func TestQuickstartWalkthrough(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyDatabaseURL(t)
	_, redisURL := dbtest.Redis(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off",
		"RECONLAYER_SESSION_SECRET": adminSecret,
		// The README relies on the default bounded wait (2s) for the 201;
		// on a loaded test machine the worker may take longer than that, so
		// the bound is raised (the flow and the answers are the same).
		"RECONLAYER_EVIDENCE_WAIT": "30s",
		// The README's local webhook receiver, on this machine over http.
		"RECONLAYER_WEBHOOK_ALLOW_INSECURE": "true", "RECONLAYER_WEBHOOK_ALLOW_PRIVATE": "true",
	}
	all, base := e2eStartServing(t, "all", env, "all")
	require.Contains(t, all.out.String(), `"msg":"migrations applied"`)

	org, key := e2eOrgAndKey(t, dbURL)
	c := newE2EClient(base, key)

	// A webhook endpoint, made with a dashboard session.
	var mu sync.Mutex
	var hooks []e2eHook
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooks = append(hooks, e2eHook{r.Header.Clone(), body})
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	endpoint := e2eWebhookEndpoint(t, base, dbURL, org, receiver.URL+"/reconlayer", "payment_intent.created", "reconciliation_case.reconciled")
	secret, _ := endpoint["secret"].(string)

	// Step 2: the payment intent.
	code, _, intent := c.call(t, http.MethodPost, "/v1/payment-intents", e2eIntent("order_1001", "100.00"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", intent)
	caseID, _ := intent["caseId"].(string)
	require.NotEmpty(t, caseID, "%v", intent)
	intentID1 := intent["paymentIntentId"]
	require.Equal(t, "order_1001", intent["externalReference"])
	require.Equal(t, "created", intent["outcome"])
	require.Nil(t, intent["verdict"])

	// Step 3: what happened, as the provider reports it.
	start := time.Now()
	code, _, receipt := c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_1001", "order_1001", "100.00"), nil)
	t.Logf("evidence answered %d in %s", code, time.Since(start).Round(time.Millisecond))
	require.Equal(t, http.StatusCreated, code, "%v", receipt)
	require.Equal(t, true, receipt["accepted"])
	require.Equal(t, false, receipt["duplicate"])
	require.Equal(t, "matched", receipt["status"])
	require.Equal(t, []any{caseID}, receipt["matchedCaseIds"])
	require.Len(t, receipt["flowLegIds"], 1)

	// Step 4: the case.
	code, _, cs := c.call(t, http.MethodGet, "/v1/reconciliation-cases/"+caseID, nil, nil)
	require.Equal(t, http.StatusOK, code, "%v", cs)
	require.Equal(t, "reconciled", cs["reconciliationStatus"], "%v", cs)
	require.Equal(t, "matched", cs["verdict"], "%v", cs)
	require.Len(t, cs["flowLegs"], 1)

	// Evidence 2.50 short of the intent: an unexplained difference.
	code, _, intent = c.call(t, http.MethodPost, "/v1/payment-intents", e2eIntent("order_1002", "100.00"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", intent)
	caseID2, _ := intent["caseId"].(string)
	require.NotEmpty(t, caseID2)
	code, _, receipt = c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_1002", "order_1002", "97.50"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", receipt)
	require.Equal(t, []any{caseID2}, receipt["matchedCaseIds"])
	code, _, cs = c.call(t, http.MethodGet, "/v1/reconciliation-cases/"+caseID2, nil, nil)
	require.Equal(t, http.StatusOK, code, "%v", cs)
	require.Equal(t, "unreconciled", cs["reconciliationStatus"], "%v", cs)
	require.Equal(t, "needs_review", cs["verdict"], "%v", cs)
	require.Equal(t, "2.5", cs["unexplainedDelta"], "%v", cs)

	// The README's SLA reads: nothing is late yet, and the overview counts
	// the two cases.
	code, _, list := c.call(t, http.MethodGet, "/v1/reconciliation-cases?slaRisk=true", nil, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Equal(t, []any{}, list["items"], "%v", list)
	code, _, overview := c.call(t, http.MethodGet, "/v1/dashboard/overview?from=2026-11-01", nil, nil)
	require.Equal(t, http.StatusOK, code, "%v", overview)
	counts := overview["counts"].(map[string]any)
	require.EqualValues(t, 2, counts["total"], "%v", overview)
	require.EqualValues(t, 1, counts["reconciled"], "%v", overview)
	require.EqualValues(t, 1, counts["needsReview"], "%v", overview)
	require.EqualValues(t, 0, counts["slaRisk"], "%v", overview)

	// The webhooks: both intents' creation and the first one's
	// reconciliation, each once, signed with the endpoint's secret.
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	var got []string
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		got = got[:0]
		for _, h := range hooks {
			require.NoError(t, wh.Verify(h.body, h.header))
			var ev struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			require.NoError(t, json.Unmarshal(h.body, &ev))
			got = append(got, ev.Type+" "+fmt.Sprint(ev.Data["externalReference"], ev.Data["id"]))
		}
		return len(got) == 3
	}, 30*time.Second, 50*time.Millisecond)
	require.ElementsMatch(t, []string{"payment_intent.created order_1001" + fmt.Sprint(intentID1),
		"payment_intent.created order_1002" + fmt.Sprint(intent["paymentIntentId"]),
		"reconciliation_case.reconciled <nil>" + caseID}, got)

	all.stop(t)
}

type e2eHook struct {
	header http.Header
	body   []byte
}

// TestFaultWorkerKilledMidBatchLosesNothing: api, worker and scheduler run as
// separate processes; a worker is SIGKILLed while it works through a backlog
// of evidence, and a new one finishes it. Every record ends matched exactly
// once (DESIGN §1: a worker killed mid-task leaves the state of one clean run).
func TestFaultWorkerKilledMidBatchLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 300
	// How long the second worker may take, after the kill, to finish what
	// the first left. The tasks the killed worker held are in asynq's active
	// set with a lease; asynq v0.26 hands them out again only once the lease
	// (30 s, fixed) has been expired for 30 s (fixed), at its recoverer's
	// next pass (every minute, fixed), then after the retry delay (0 for an
	// expired lease: worker.New sets it) and the next forward of due retries
	// (5 s). The outbox sweeper cannot shortcut this: it leaves a task whose
	// id is still taken alone. That is about 65 s when the recoverer's first
	// pass after the lease catches it, up to about 125 s when it takes the
	// next one.
	const recoverWithin = 150 * time.Second

	dbURL := dbtest.EmptyDatabaseURL(t)
	_, redisURL := dbtest.Redis(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off",
		"RECONLAYER_EVIDENCE_WAIT":         "0s",
		"RECONLAYER_RATE_LIMIT_PER_MINUTE": "1000000",
		// Few tasks at once keeps the backlog long enough to kill into.
		"RECONLAYER_WORKER_CONCURRENCY": "2",
	}
	e2eMigrateUp(t, env)
	_, base := e2eStartServing(t, "api", env, "api")
	e2eStart(t, "scheduler", env, "scheduler")
	_, key := e2eOrgAndKey(t, dbURL)
	c := newE2EClient(base, key)
	pool := e2ePool(t, dbURL)

	// parallel runs f(0..n-1) on a few goroutines and fails on any error.
	parallel := func(what string, f func(i int) error) {
		t.Helper()
		idx := make(chan int)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range idx {
					if err := f(i); err != nil {
						errs <- fmt.Errorf("%s %d: %w", what, i, err)
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			idx <- i
		}
		close(idx)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	ref := func(i int) string { return fmt.Sprintf("order_%04d", i) }
	amount := func(i int) string { return fmt.Sprintf("%d.%02d", 100+i, i%100) } // distinct per intent

	start := time.Now()
	parallel("intent", func(i int) error {
		code, _, b, err := c.do(http.MethodPost, "/v1/payment-intents", e2eIntent(ref(i), amount(i)), nil)
		if err == nil && code != http.StatusCreated {
			err = fmt.Errorf("status %d: %s", code, b)
		}
		return err
	})
	t.Logf("%d intents created in %s", n, time.Since(start).Round(time.Millisecond))

	// The evidence is all accepted before any worker runs: a backlog of n
	// match tasks.
	start = time.Now()
	parallel("evidence", func(i int) error {
		code, h, b, err := c.do(http.MethodPost, "/v1/evidence/provider",
			e2eProviderEvidence(fmt.Sprintf("tr_%04d", i), ref(i), amount(i)), map[string]string{"Prefer": "respond-async"})
		if err != nil {
			return err
		}
		var r struct {
			Status string `json:"status"`
		}
		if code != http.StatusAccepted || json.Unmarshal(b, &r) != nil || r.Status != "queued" || h.Get("Location") == "" {
			return fmt.Errorf("want 202 queued with a Location, got %d %s", code, b)
		}
		return nil
	})
	t.Logf("%d evidence records accepted in %s", n, time.Since(start).Round(time.Millisecond))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM raw_records"))
	require.Zero(t, e2eCount(t, pool, "SELECT count(*) FROM raw_records WHERE processed_at IS NOT NULL"))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM task_outbox WHERE task_type = 'evidence:match'"))

	processed := func() int {
		return e2eCount(t, pool, "SELECT count(*) FROM raw_records WHERE processed_at IS NOT NULL")
	}
	// Two worker processes share the backlog from the start (several workers
	// against one Postgres and Redis must never match a record twice); one
	// of them is killed, the other keeps going, and a third replaces it.
	first := e2eStart(t, "worker 1", env, "worker")
	other := e2eStart(t, "worker 3", env, "worker")
	deadline := time.Now().Add(2 * time.Minute)
	// Kill once a tenth is done: well into the batch, far from its end.
	for processed() < n/10 {
		if ok, err := first.exited(); ok {
			t.Fatalf("worker 1 exited: %v", err)
		}
		require.True(t, time.Now().Before(deadline), "worker 1 processed fewer than %d records within 2 minutes", n/10)
		time.Sleep(10 * time.Millisecond)
	}
	first.kill(t)
	killedAt := time.Now()
	atKill := processed() // what worker 1 committed, final now that it is gone
	t.Logf("worker 1 SIGKILLed with %d of %d raw records processed", atKill, n)
	require.Positive(t, atKill)
	require.Less(t, atKill, n, "the kill must land in the middle of the batch")

	second := e2eStart(t, "worker 2", env, "worker")
	lastLeft := -1
	for {
		left := n - processed()
		if left == 0 {
			break
		}
		if left != lastLeft && left <= 5 {
			t.Logf("%d raw records unprocessed %s after the kill", left, time.Since(killedAt).Round(time.Millisecond))
		}
		lastLeft = left
		if ok, err := second.exited(); ok {
			t.Fatalf("worker 2 exited: %v", err)
		}
		if ok, err := other.exited(); ok {
			t.Fatalf("worker 3 exited: %v", err)
		}
		if time.Since(killedAt) > recoverWithin {
			t.Fatalf("%d of %d raw records still unprocessed %s after worker 1 was killed", left, n, recoverWithin)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("all %d raw records processed %s after the kill", n, time.Since(killedAt).Round(time.Millisecond))

	require.Zero(t, e2eCount(t, pool, "SELECT count(*) FROM raw_records WHERE match_status <> 'matched'"), "every record matched")
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM flow_legs"))
	require.Zero(t, e2eCount(t, pool, "SELECT count(*) FROM flow_legs WHERE case_id IS NULL"))
	require.Zero(t, e2eCount(t, pool, "SELECT count(*) FROM (SELECT case_id FROM flow_legs GROUP BY case_id HAVING count(*) <> 1) x"),
		"no case with more than one leg")
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM match_links WHERE status = 'active'"))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(DISTINCT case_id) FROM match_links WHERE status = 'active'"))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM match_links"), "no suggested or extra links")
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM reconciliation_cases WHERE reconciliation_status = 'reconciled'"))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM reconciliation_cases"))
	// Each intent's leg is its own: the case's intent carries the leg's reference.
	require.Zero(t, e2eCount(t, pool, `SELECT count(*) FROM flow_legs l
		JOIN reconciliation_cases c ON c.id = l.case_id
		JOIN payment_intents p ON p.id = c.payment_intent_id
		WHERE l.external_reference IS DISTINCT FROM p.external_reference`))
	// Processed exactly once: one evidence.received (and leg.normalized) per record.
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM audit_events WHERE event_type = 'evidence.received'"))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(DISTINCT raw_record_id) FROM audit_events WHERE event_type = 'evidence.received'"))
	require.Equal(t, n, e2eCount(t, pool, "SELECT count(*) FROM audit_events WHERE event_type = 'leg.normalized'"))
	require.Zero(t, e2eCount(t, pool, "SELECT count(*) FROM task_outbox"), "the outbox is empty once everything is handled")
	fmt.Printf("fault: worker SIGKILLed mid-batch: accepted %d, present %d, duplicates %d\n", n,
		e2eCount(t, pool, "SELECT count(*) FROM raw_records"),
		e2eCount(t, pool, "SELECT count(*) - count(DISTINCT raw_record_id) FROM flow_legs"))

	second.stop(t)
	other.stop(t)
}

// e2eRedisUp waits until a Redis at addr answers PING.
func e2eRedisUp(t *testing.T, p *e2eProc, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if ok, werr := p.exited(); ok {
			t.Fatalf("redis-server exited: %v", werr)
		}
		require.True(t, time.Now().Before(deadline), "redis-server at %s not up within 30s: %v", addr, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFaultRedisDownNothingLost: with Redis gone, evidence is still accepted
// (202) because Postgres has it with its outbox row; once Redis is back, the
// scheduler's outbox sweep queues it and the case reconciles, once.
func TestFaultRedisDownNothingLost(t *testing.T) {
	t.Parallel()
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed; this test runs a Redis of its own")
	}
	redisAddr := freeAddr(t)
	_, port, err := net.SplitHostPort(redisAddr)
	require.NoError(t, err)
	startRedis := func(name string) *e2eProc {
		p := e2eStartCmd(t, name, redisBin, nil,
			"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
		e2eRedisUp(t, p, redisAddr)
		return p
	}
	redis1 := startRedis("redis-server 1")

	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": "redis://" + redisAddr + "/0", "RECONLAYER_METRICS_ADDR": "off",
	}
	all, base := e2eStartServing(t, "all", env, "all")
	_, key := e2eOrgAndKey(t, dbURL)
	c := newE2EClient(base, key)
	pool := e2ePool(t, dbURL)

	code, _, intent := c.call(t, http.MethodPost, "/v1/payment-intents", e2eIntent("order_2001", "250.00"), nil)
	require.Equal(t, http.StatusCreated, code, "%v", intent)
	caseID, _ := intent["caseId"].(string)
	require.NotEmpty(t, caseID)
	// More intents, whose evidence keeps arriving while Redis is away.
	const more = 40
	for i := range more {
		code, _, in := c.call(t, http.MethodPost, "/v1/payment-intents", e2eIntent(fmt.Sprintf("order_3%03d", i), "10.00"), nil)
		require.Equal(t, http.StatusCreated, code, "%v", in)
	}

	redis1.kill(t)
	downAt := time.Now()

	// /ready says so.
	ready := &http.Client{Timeout: 30 * time.Second}
	resp, err := ready.Get(base + "/ready")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), `"redis":"down`)

	// Evidence is accepted all the same: Postgres is up.
	start := time.Now()
	code, h, receipt := c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_2001", "order_2001", "250.00"), nil)
	took := time.Since(start)
	t.Logf("evidence with Redis down answered %d in %s", code, took.Round(time.Millisecond))
	require.Equal(t, http.StatusAccepted, code, "%v", receipt)
	require.Less(t, took, 10*time.Second)
	require.Equal(t, "queued", receipt["status"], "%v", receipt)
	rawID, _ := receipt["rawRecordId"].(string)
	_, err = uuid.Parse(rawID)
	require.NoError(t, err, "%v", receipt)
	require.Equal(t, "/v1/evidence/"+rawID, h.Get("Location"))

	require.Equal(t, 1, e2eCount(t, pool, "SELECT count(*) FROM raw_records WHERE id = $1 AND processed_at IS NULL", rawID))
	require.Equal(t, 1, e2eCount(t, pool, "SELECT count(*) FROM task_outbox WHERE task_id = $1", "evidence:match:"+rawID))
	for i := range more {
		ref := fmt.Sprintf("order_3%03d", i)
		code, _, r := c.call(t, http.MethodPost, "/v1/evidence/provider", e2eProviderEvidence("tr_"+ref, ref, "10.00"), nil)
		require.Equal(t, http.StatusAccepted, code, "%v", r)
	}
	ok, werr := all.exited()
	require.False(t, ok, "reconlayer all must survive Redis going away: %v", werr)

	// Redis comes back, empty (no persistence): the outbox is all there is.
	startRedis("redis-server 2")
	t.Logf("Redis was down for %s", time.Since(downAt).Round(time.Millisecond))
	backAt := time.Now()
	var cs map[string]any
	for {
		code, _, cs = c.call(t, http.MethodGet, "/v1/reconciliation-cases/"+caseID, nil, nil)
		require.Equal(t, http.StatusOK, code, "%v", cs)
		if cs["reconciliationStatus"] == "reconciled" {
			break
		}
		if ok, werr := all.exited(); ok {
			t.Fatalf("reconlayer all exited: %v", werr)
		}
		require.Less(t, time.Since(backAt), 60*time.Second, "case not reconciled within 60s of Redis coming back: %v", cs)
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("case reconciled %s after Redis came back", time.Since(backAt).Round(time.Millisecond))
	require.Equal(t, "matched", cs["verdict"], "%v", cs)
	require.Len(t, cs["flowLegs"], 1)

	// Processed exactly once, and the outbox row is gone with it.
	require.Equal(t, 1, e2eCount(t, pool, "SELECT count(*) FROM flow_legs WHERE raw_record_id = $1", rawID))
	require.Equal(t, 1, e2eCount(t, pool, "SELECT count(*) FROM raw_records WHERE id = $1 AND processed_at IS NOT NULL AND match_status = 'matched'", rawID))
	require.Equal(t, 1, e2eCount(t, pool, "SELECT count(*) FROM audit_events WHERE event_type = 'evidence.received' AND raw_record_id = $1", rawID))
	require.Equal(t, 1, e2eCount(t, pool, "SELECT count(*) FROM match_links WHERE status = 'active' AND case_id = $1", caseID))
	waitFor(t, time.Minute, "the evidence sent while Redis was away is matched", func() bool {
		return e2eCount(t, pool, "SELECT count(*) FROM reconciliation_cases WHERE reconciliation_status = 'reconciled'") == 1+more
	})
	require.Equal(t, 1+more, e2eCount(t, pool, "SELECT count(*) FROM flow_legs"))
	require.Equal(t, 1+more, e2eCount(t, pool, "SELECT count(*) FROM audit_events WHERE event_type = 'evidence.received'"))
	waitFor(t, 30*time.Second, "the outbox empties", func() bool { return e2eCount(t, pool, "SELECT count(*) FROM task_outbox") == 0 })
	fmt.Printf("fault: Redis killed during ingest and restarted empty: accepted %d, present %d, duplicates %d\n", 1+more,
		e2eCount(t, pool, "SELECT count(*) FROM raw_records"),
		e2eCount(t, pool, "SELECT count(*) - count(DISTINCT raw_record_id) FROM flow_legs"))

	// Still answering with the new Redis; the evidence reads back as matched.
	require.NoError(t, e2eWaitReady(all, base, 30*time.Second))
	code, _, ev := c.call(t, http.MethodGet, "/v1/evidence/"+rawID, nil, nil)
	require.Equal(t, http.StatusOK, code, "%v", ev)
	require.Equal(t, "matched", ev["status"])
	require.Equal(t, []any{caseID}, ev["matchedCaseIds"])

	all.stop(t)
}
