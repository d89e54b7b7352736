package main

// Postgres restarted in the middle of ingest (DESIGN §1: Postgres is the
// source of truth and anything answered 2xx is in it; §3: a client retries
// under its Idempotency-Key). The test runs a Postgres cluster of its own:
// the shared one at DATABASE_URL serves every other test and must stay up.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/api"
	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// pgCluster is a throwaway Postgres cluster owned by one test.
type pgCluster struct {
	bindir string
	dir    string // holds data/, the unix socket and postgres.log
	port   string
	owner  string // the user the cluster runs as when we are root; "" runs it as ourselves
}

// pgBindir finds the newest installed PostgreSQL server binaries.
func pgBindir() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		return n
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	for _, d := range dirs {
		_, errInit := os.Stat(filepath.Join(d, "initdb"))
		_, errCtl := os.Stat(filepath.Join(d, "pg_ctl"))
		if errInit == nil && errCtl == nil {
			return d, true
		}
	}
	return "", false
}

// startPrivatePostgres initdbs a cluster into a temporary directory, starts
// it on a free loopback port with a reconlayer role and database, and stops
// it when the test ends. It answers the cluster and its DATABASE_URL.
func startPrivatePostgres(t *testing.T) (*pgCluster, string) {
	t.Helper()
	bindir, ok := pgBindir()
	if !ok {
		t.Skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; this test runs a cluster of its own")
	}
	c := &pgCluster{bindir: bindir, dir: t.TempDir()}
	if os.Geteuid() == 0 {
		// initdb refuses root, so the cluster runs as postgres, which must
		// reach the directory: t.TempDir's parent is 0700.
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root, the cluster runs as the postgres user")
		uid, err := strconv.Atoi(u.Uid)
		require.NoError(t, err)
		gid, err := strconv.Atoi(u.Gid)
		require.NoError(t, err)
		require.NoError(t, os.Chmod(filepath.Dir(c.dir), 0o711))
		require.NoError(t, os.Chown(c.dir, uid, gid))
		c.owner = u.Username
		out, err := c.run("test", "-w", c.dir)
		require.NoError(t, err, "%s cannot write %s (a parent directory is not traversable?): %s", c.owner, c.dir, out)
	}
	_, port, err := net.SplitHostPort(freeAddr(t))
	require.NoError(t, err)
	c.port = port

	out, err := c.run(filepath.Join(bindir, "initdb"), "-D", c.data(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	require.NoError(t, err, "initdb: %s", out)
	t.Cleanup(func() {
		// Before t.TempDir removes the directory (cleanups run last first).
		_, _ = c.run(filepath.Join(bindir, "pg_ctl"), "-D", c.data(), "-m", "immediate", "-w", "stop")
	})
	c.start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	su, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:"+port+"/postgres?sslmode=disable")
	require.NoError(t, err)
	defer su.Close(context.Background())
	for _, sql := range []string{
		`CREATE ROLE reconlayer LOGIN PASSWORD 'reconlayer'`,
		`CREATE DATABASE reconlayer OWNER reconlayer`,
	} {
		_, err := su.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	return c, "postgres://reconlayer:reconlayer@127.0.0.1:" + port + "/reconlayer?sslmode=disable"
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs a program as the cluster's owner.
func (c *pgCluster) run(prog string, args ...string) ([]byte, error) {
	if c.owner != "" {
		args = append([]string{"-u", c.owner, "--", prog}, args...)
		prog = "runuser"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = c.dir // the owner may not be allowed into the package directory
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// start starts the cluster and waits until it accepts connections.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	// fsync is off for speed; synchronous_commit stays on, so a commit
	// acknowledged before an immediate stop survives it (the WAL is in the
	// page cache, which a Postgres crash does not lose).
	opts := fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off", c.port, c.dir)
	out, err := c.run(filepath.Join(c.bindir, "pg_ctl"), "-D", c.data(), "-l", filepath.Join(c.dir, "postgres.log"),
		"-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
		t.Fatalf("pg_ctl start: %v: %s\npostgres.log:\n%s", err, out, log)
	}
}

// stopImmediate stops the cluster the way a crash would: every backend is
// killed, nothing is checkpointed.
func (c *pgCluster) stopImmediate(t *testing.T) {
	t.Helper()
	out, err := c.run(filepath.Join(c.bindir, "pg_ctl"), "-D", c.data(), "-m", "immediate", "-w", "stop")
	require.NoError(t, err, "pg_ctl stop: %s", out)
}

// faultAnswer is one answer (or transport error) that was not a 2xx.
type faultAnswer struct {
	sent   time.Time
	got    time.Time
	path   string
	code   int    // 0: transport error
	body   string // or the transport error
	errStr string // the envelope's "error"
}

// TestFaultPostgresRestartDuringIngest: clients create intents and post
// provider evidence without pause, retrying each request under its own
// Idempotency-Key until it is answered 2xx; meanwhile Postgres stops
// (immediately, as in a crash) and comes back a few seconds later. While it
// is down the api answers 503 in the error envelope; afterwards every
// accepted request is present exactly once and every record gets processed.
func TestFaultPostgresRestartDuringIngest(t *testing.T) {
	t.Parallel()
	const (
		clients  = 6
		downFor  = 2500 * time.Millisecond
		deadline = 60 * time.Second // for any one request to be answered 2xx
	)
	cluster, dbURL := startPrivatePostgres(t)
	_, redisURL := dbtest.Redis(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off",
		"RECONLAYER_EVIDENCE_WAIT":         "5s",
		"RECONLAYER_RATE_LIMIT_PER_MINUTE": "1000000",
		// Far longer than the test: a request cut off by the outage must
		// give its key back once Postgres returns (the api retries the
		// release), not when the lease runs out, or its retries would be
		// refused as in progress past every deadline here.
		"RECONLAYER_IDEMPOTENCY_LEASE":  "10m",
		"RECONLAYER_WORKER_CONCURRENCY": "8",
	}
	e2eMigrateUp(t, env)
	all, base := e2eStartServing(t, "all", env, "all")
	_, key := e2eOrgAndKey(t, dbURL)
	c := newE2EClient(base, key)
	c.hc.Timeout = 20 * time.Second

	abandon := make(chan struct{}) // closed when the test ends early: stop retrying
	var (
		mu       sync.Mutex
		failures []faultAnswer
		firstOK  time.Time // the first 2xx to a request sent after Postgres came back
		lastOK   time.Time // the last 2xx to a request that had failed before
		upAt     time.Time // zero until Postgres is back
	)
	// send posts body under one Idempotency-Key until it is answered 2xx,
	// retrying on transport errors, 5xx, 429 and 409 in progress.
	send := func(path string, body any, prefer string) (int, []byte, error) {
		hdr := map[string]string{"Idempotency-Key": uuid.NewString()}
		if prefer != "" {
			hdr["Prefer"] = prefer
		}
		until := time.Now().Add(deadline)
		backoff := 50 * time.Millisecond
		for attempt := 0; ; attempt++ {
			sent := time.Now()
			code, h, b, err := c.do(http.MethodPost, path, body, hdr)
			if err == nil && code >= 200 && code < 300 {
				mu.Lock()
				if !upAt.IsZero() && sent.After(upAt) && firstOK.IsZero() {
					firstOK = time.Now()
				}
				if attempt > 0 {
					lastOK = time.Now()
				}
				mu.Unlock()
				return code, b, nil
			}
			a := faultAnswer{sent: sent, got: time.Now(), path: path, code: code, body: string(b)}
			if err != nil {
				a.body = err.Error()
			} else {
				var envelope struct {
					Error string `json:"error"`
				}
				_ = json.Unmarshal(b, &envelope)
				a.errStr = envelope.Error
			}
			mu.Lock()
			failures = append(failures, a)
			mu.Unlock()
			retry := err != nil || code >= 500 || code == http.StatusTooManyRequests ||
				(code == http.StatusConflict && a.errStr == api.CodeIdempotencyInProgress)
			if !retry {
				return code, b, fmt.Errorf("%s answered %d: %s", path, code, b)
			}
			if time.Now().After(until) {
				return code, b, fmt.Errorf("%s not answered 2xx within %s; last %d %s", path, deadline, code, a.body)
			}
			select {
			case <-abandon:
				return code, b, fmt.Errorf("%s abandoned: the test is over", path)
			default:
			}
			wait := backoff
			if s, perr := strconv.Atoi(h.Get("Retry-After")); perr == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			time.Sleep(min(wait, 2*time.Second))
			backoff = min(2*backoff, time.Second)
		}
	}

	var (
		next     atomic.Int64
		intents  sync.Map // externalReference -> true, answered 2xx
		evidence sync.Map // providerTransferId -> true, answered 2xx
		okCount  atomic.Int64
	)
	stop := make(chan struct{})
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for k := range clients {
		// Half the clients wait for the matcher's outcome (the default),
		// half do not: their evidence never sits out the outage in the wait.
		prefer := ""
		if k%2 == 1 {
			prefer = "respond-async"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1)
				ref := fmt.Sprintf("pgfault_%05d", i)
				postIntent := func() error {
					_, b, err := send("/v1/payment-intents", e2eIntent(ref, "25.00"), "")
					if err == nil && !strings.Contains(string(b), ref) {
						err = fmt.Errorf("answered %s", b)
					}
					if err != nil {
						return fmt.Errorf("intent %s: %w", ref, err)
					}
					intents.Store(ref, true)
					return nil
				}
				postEvidence := func() error {
					tr := "tr_" + ref
					if _, _, err := send("/v1/evidence/provider", e2eProviderEvidence(tr, ref, "25.00"), prefer); err != nil {
						return fmt.Errorf("evidence %s: %w", tr, err)
					}
					evidence.Store(tr, true)
					return nil
				}
				// Evidence may come before its intent: every other item, so
				// that the outage finds requests of both kinds.
				steps := []func() error{postIntent, postEvidence}
				if i%2 == 0 {
					steps[0], steps[1] = steps[1], steps[0]
				}
				for _, step := range steps {
					if err := step(); err != nil {
						errs <- err
						return
					}
				}
				okCount.Add(1)
			}
		}()
	}
	stopClients := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
	}
	t.Cleanup(func() { stopClients(); close(abandon); wg.Wait() })

	// Ingest is well under way before Postgres goes.
	start := time.Now()
	for okCount.Load() < 30 {
		require.Less(t, time.Since(start), 30*time.Second, "fewer than 30 intents with evidence accepted in 30s")
		time.Sleep(20 * time.Millisecond)
	}
	beforeDown := okCount.Load()
	downAt := time.Now()
	cluster.stopImmediate(t)
	time.Sleep(downFor)
	cluster.start(t)
	mu.Lock()
	upAt = time.Now()
	mu.Unlock()
	t.Logf("Postgres stopped (immediate) after %d intents with evidence, back %s later",
		beforeDown, upAt.Sub(downAt).Round(time.Millisecond))

	// Ingest goes on until it has recovered and run a while more.
	for {
		mu.Lock()
		recovered := !firstOK.IsZero()
		mu.Unlock()
		if recovered && time.Since(upAt) > 3*time.Second {
			break
		}
		if ok, err := all.exited(); ok {
			t.Fatalf("reconlayer all exited: %v", err)
		}
		require.Less(t, time.Since(upAt), 45*time.Second, "no request answered 2xx within 45s of Postgres coming back")
		time.Sleep(50 * time.Millisecond)
	}
	stopClients()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.False(t, t.Failed())
	t.Logf("after Postgres was back: first 2xx %s later, the last request the outage had cut off answered 2xx %s later; ingest ran %s",
		firstOK.Sub(upAt).Round(time.Millisecond), lastOK.Sub(upAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	ok, werr := all.exited()
	require.False(t, ok, "reconlayer all must survive Postgres restarting: %v", werr)

	countMap := func(m *sync.Map) int {
		n := 0
		m.Range(func(any, any) bool { n++; return true })
		return n
	}
	nIntents, nEvidence := countMap(&intents), countMap(&evidence)
	pool := e2ePool(t, dbURL)
	require.Equal(t, nIntents, e2eCount(t, pool, `SELECT count(*) FROM payment_intents`), "payment intents answered 2xx")
	require.Equal(t, nIntents, e2eCount(t, pool, `SELECT count(*) FROM reconciliation_cases`), "one case per intent")
	present := e2eCount(t, pool, `SELECT count(*) FROM raw_records`)
	// Every record processed: the tasks cut off by the outage are retried.
	require.Eventually(t, func() bool {
		return e2eCount(t, pool, `SELECT count(*) FROM raw_records WHERE match_status = 'queued'`) == 0
	}, 75*time.Second, 250*time.Millisecond, "raw records still queued")
	settled := time.Since(upAt)
	t.Logf("every raw record processed %s after Postgres was back", settled.Round(time.Millisecond))
	dups := e2eCount(t, pool, `SELECT count(*) FROM (SELECT source, source_ref FROM raw_records GROUP BY 1, 2 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT external_reference FROM payment_intents GROUP BY 1 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT raw_record_id FROM flow_legs GROUP BY 1 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT flow_leg_id, case_id FROM match_links GROUP BY 1, 2 HAVING count(*) > 1) d`)
	// Processed once: one evidence.received per record (the matcher writes it).
	receivedOtherThanOnce := e2eCount(t, pool, `SELECT count(*) FROM raw_records r WHERE (SELECT count(*) FROM audit_events a
		WHERE a.raw_record_id = r.id AND a.event_type = 'evidence.received') <> 1`)

	// What the api answered while Postgres was down: requests sent before
	// it came back and answered after it went.
	mu.Lock()
	defer mu.Unlock()
	during := map[string]int{}
	var unavailable, internal int
	var samples []string
	for _, a := range failures {
		if a.got.Before(downAt) || !a.sent.Before(upAt) {
			continue
		}
		label := fmt.Sprintf("%d %s", a.code, a.errStr)
		if a.code == 0 {
			label = "transport error"
		}
		during[label]++
		if during[label] == 1 {
			samples = append(samples, fmt.Sprintf("%s %s: %s", a.path, label, a.body))
		}
		switch {
		case a.code == http.StatusServiceUnavailable && a.errStr == api.CodeServiceUnavailable:
			unavailable++
		case a.code == http.StatusInternalServerError:
			internal++
		}
	}
	overall := map[string]int{}
	for _, a := range failures {
		overall[fmt.Sprintf("%d %s", a.code, a.errStr)]++
	}
	t.Logf("answers other than 2xx while Postgres was down: %v; over the whole run: %v", during, overall)
	slices.Sort(samples)
	for _, s := range samples {
		t.Logf("  e.g. %s", s)
	}
	fmt.Printf("fault: Postgres restarted during ingest: accepted %d, present %d, duplicates %d, 503s seen %d\n",
		nEvidence, present, dups, unavailable)
	require.Equal(t, nEvidence, present, "evidence answered 2xx")
	require.Zero(t, dups)
	require.Zero(t, receivedOtherThanOnce, "raw records whose evidence.received audit event is not there exactly once")

	// Every answer that was not a 2xx is in the error envelope.
	for _, a := range failures {
		if a.code != 0 {
			require.NotEmpty(t, a.errStr, "%s answered %d outside the error envelope: %s", a.path, a.code, a.body)
		}
	}
	// A database that is away is the service being unavailable (retry
	// later), not an internal error.
	logged := requestFailures(all.out.String())
	require.Positive(t, unavailable, "no 503 %s while Postgres was down; answers: %v\n%s\nthe api logged:\n%s",
		api.CodeServiceUnavailable, during, strings.Join(samples, "\n"), logged)
	require.Zero(t, internal, "500s while Postgres was down: %v\n%s\nthe api logged:\n%s",
		during, strings.Join(samples, "\n"), logged)
}

// requestFailures picks, from a process's JSON log, the distinct errors of
// the requests that failed (route and err).
func requestFailures(log string) string {
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(log, "\n") {
		var l struct {
			Msg   string `json:"msg"`
			Route string `json:"route"`
			Err   string `json:"err"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request failed" {
			continue
		}
		k := l.Route + ": " + l.Err
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
