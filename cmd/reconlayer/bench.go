package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/api"
	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/migrate"
	"github.com/reconlayer/reconlayer/internal/progress"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/worker"
)

const benchUsage = `usage: reconlayer bench evidence|sla|imports|webhooks|runs [flags]   (in a scratch database next to DATABASE_URL)

  evidence [-n 10000] [-concurrency 32] [-workers 64] [-runs 3] [-redis-db 255] [-keep-db] [-cpuprofile file]
  sla [-n 1000000] [-runs 3] [-chunk 10000] [-keep-db] [-cpuprofile file]
  imports [-csv 1000000] [-camt 100000] [-runs 3] [-chunk 2000] [-writers 3] [-keep-db] [-cpuprofile file]
  webhooks [-n 10000] [-endpoints 1] [-concurrency 50] [-per-endpoint 50] [-runs 3] [-redis-db 254] [-keep-db] [-cpuprofile file]
  runs [-n 100000,1000000] [-runs 3] [-writers 2] [-match-chunk 25000] [-keep-db] [-cpuprofile file]
  expected [-n 100000] [-runs 3] [-workers 2] [-chunk 5000] [-keep-db] [-cpuprofile file]
`

// benchCmd runs `reconlayer bench evidence|sla|imports|webhooks|runs|expected`: measurements on this
// machine in a scratch database it creates and drops.
func benchCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError(strings.TrimSpace(benchUsage))
	}
	switch args[0] {
	case "evidence":
		return benchEvidence(ctx, args[1:], stdout)
	case "sla":
		return benchSLA(ctx, args[1:], stdout)
	case "imports":
		return benchImports(ctx, args[1:], stdout)
	case "webhooks":
		return benchWebhooks(ctx, args[1:], stdout)
	case "runs":
		return benchRuns(ctx, args[1:], stdout)
	case "expected":
		return benchExpected(ctx, args[1:], stdout)
	}
	return usageError(fmt.Sprintf("bench: unknown benchmark %q\n%s", args[0], strings.TrimSpace(benchUsage)))
}

// benchEvidence runs `reconlayer bench evidence`: the evidence pipeline
// measured end to end on this machine — real HTTP on loopback, the real api,
// worker, Postgres and Redis.
//
// Phases, repeated --runs times with fresh intents:
//   - accept: evidence POSTed with Prefer: respond-async and no worker
//     running: what the api sustains (rate and latency percentiles).
//   - drain: a worker started on that backlog: matched per second.
//   - end to end: evidence POSTed with respond-async while the worker
//     runs: evidence matched per second from first POST to last match.
func benchEvidence(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench evidence", flag.ContinueOnError)
	n := fs.Int("n", 10000, "evidence records per phase")
	conc := fs.Int("concurrency", 32, "concurrent HTTP clients")
	workers := fs.Int("workers", 64, "worker concurrency")
	runs := fs.Int("runs", 3, "repetitions (medians are reported)")
	redisDB := fs.Int("redis-db", 255, "Redis database to use; it is flushed")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (api, worker and clients) to this file")
	keep := fs.Bool("keep-db", false, "keep the scratch database afterwards (to look at plans)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *n < 1 || *conc < 1 || *workers < 1 || *runs < 1 {
		return usageError("bench evidence: -n, -concurrency, -workers and -runs must be positive")
	}
	b, err := newBench(ctx, *redisDB, *workers)
	if err != nil {
		return err
	}
	b.keep = *keep
	defer b.close()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	var results []benchRun
	for i := range *runs {
		r, err := b.run(ctx, i, *n, *conc)
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "run %d: intents %.0f/s | accept %.0f/s p50 %.1f ms p99 %.1f ms | drain %.0f matched/s | end to end %.0f matched/s (accept %.0f/s, p99 %.1f ms)\n",
			i+1, r.IntentsPerSec, r.AcceptPerSec, r.AcceptP50, r.AcceptP99, r.DrainPerSec, r.E2EPerSec, r.E2EAcceptPerSec, r.E2EP99)
	}
	med := func(f func(benchRun) float64) float64 { return median(results, f) }
	fmt.Fprintf(stdout, "\nmedian of %d runs, n=%d, %d clients, worker concurrency %d, GOMAXPROCS %d, %s:\n",
		len(results), *n, *conc, *workers, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "  intents created        %8.0f /s\n", med(func(r benchRun) float64 { return r.IntentsPerSec }))
	fmt.Fprintf(stdout, "  evidence accepted      %8.0f /s   p50 %.1f ms   p99 %.1f ms   (respond-async, no worker running)\n",
		med(func(r benchRun) float64 { return r.AcceptPerSec }), med(func(r benchRun) float64 { return r.AcceptP50 }),
		med(func(r benchRun) float64 { return r.AcceptP99 }))
	fmt.Fprintf(stdout, "  backlog matched        %8.0f /s   (worker draining the accepted backlog)\n", med(func(r benchRun) float64 { return r.DrainPerSec }))
	fmt.Fprintf(stdout, "  matched end to end     %8.0f /s   (POSTs and matching at once; accept %.0f/s, p99 %.1f ms)\n",
		med(func(r benchRun) float64 { return r.E2EPerSec }), med(func(r benchRun) float64 { return r.E2EAcceptPerSec }),
		med(func(r benchRun) float64 { return r.E2EP99 }))
	return nil
}

type benchRun struct {
	IntentsPerSec                      float64
	AcceptPerSec, AcceptP50, AcceptP99 float64
	DrainPerSec                        float64
	E2EPerSec, E2EAcceptPerSec, E2EP99 float64
}

// scratch is a database created next to DATABASE_URL's and migrated, so a
// bench never touches real data; close drops it unless keep is set.
type scratch struct {
	admin *pgx.Conn
	name  string
	pool  *pgxpool.Pool
	keep  bool
}

func newScratch(ctx context.Context, databaseURL string, maxConns int) (*scratch, error) {
	admin, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	s := &scratch{admin: admin, name: "reconlayer_bench_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.name}.Sanitize()); err != nil {
		admin.Close(ctx)
		return nil, fmt.Errorf("create scratch database: %w", err)
	}
	u, _ := url.Parse(databaseURL)
	u.Path = "/" + s.name
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(maxConns))
	u.RawQuery = q.Encode()
	pcfg, err := backend.PoolConfig(u.String())
	if err != nil {
		s.close()
		return nil, err
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		s.close()
		return nil, err
	}
	m, err := migrate.New(s.pool, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		s.close()
		return nil, err
	}
	_, err = m.Up(ctx)
	m.Close()
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *scratch) close() {
	ctx := context.Background()
	if s.pool != nil {
		s.pool.Close()
	}
	if s.keep {
		fmt.Fprintf(os.Stderr, "scratch database kept: %s\n", s.name)
	} else {
		// Plain DROP first: it cancels an autovacuum worker on the
		// database by itself, where FORCE would need the right to
		// terminate it (pg_signal_backend) and fail, leaving gigabytes
		// behind. FORCE is for a connection of our own left open.
		name := pgx.Identifier{s.name}.Sanitize()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				fmt.Fprintf(os.Stderr, "scratch database %s not dropped: %v\n", s.name, err)
			}
		}
	}
	_ = s.admin.Close(ctx)
}

// scratchRedis connects to database db of REDIS_URL's server and empties
// it: a bench's queue starts clean (poolSize 0: go-redis's default). The
// caller flushes and closes it when done.
func scratchRedis(ctx context.Context, redisURL string, db, poolSize int) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.DB, opts.PoolSize = db, poolSize
	rdb := redis.NewClient(opts)
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis database %d: %w", db, err)
	}
	return rdb, nil
}

// startCPUProfile profiles this process into path until the returned
// function is called; an empty path profiles nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// median is the median of f over runs (the upper one of an even count).
func median[R any](runs []R, f func(R) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

type bench struct {
	*scratch
	rdb     *redis.Client
	reg     *metrics.Registry
	api     *client.Client
	workers int
	stop    func()
	// progress gets each phase's running count (stderr: the results on
	// stdout stay clean for a file or a pipe).
	progress io.Writer
}

func newBench(ctx context.Context, redisDB, workers int) (*bench, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	s, err := newScratch(ctx, cfg.DatabaseURL, 40)
	if err != nil {
		return nil, err
	}
	b := &bench{scratch: s, workers: workers, progress: os.Stderr}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if b.rdb, err = scratchRedis(ctx, cfg.RedisURL, redisDB, 64); err != nil {
		b.close()
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.reg = metrics.New()
	waiter := tasks.NewWaiter(b.rdb, logger)
	wg.Go(func() { waiter.Run(runCtx) })
	opts := api.DefaultOptions()
	router := api.NewRouter(api.Deps{Logger: logger, Pool: b.pool, Redis: b.rdb, Metrics: b.reg, Waiter: waiter, Options: opts})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		b.close()
		return nil, err
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() { _ = srv.Serve(ln) })
	b.stop = func() { _ = srv.Close(); cancel(); wg.Wait() }

	org, err := db.New(b.pool).CreateOrganization(ctx, "bench")
	if err != nil {
		b.close()
		return nil, err
	}
	limit := int32(100_000_000)
	if _, err := db.New(b.pool).SetOrganizationRateLimit(ctx, db.SetOrganizationRateLimitParams{ID: org.ID, RateLimitPerMinute: &limit}); err != nil {
		b.close()
		return nil, err
	}
	k, err := apikey.New(b.pool).Create(ctx, apikey.CreateInput{OrganizationID: org.ID, Name: "bench"}, nil)
	if err != nil {
		b.close()
		return nil, err
	}
	// Retries off: the bench measures the server, and a retry would hide
	// a refusal in a latency.
	b.api = client.New("http://"+ln.Addr().String(), client.WithCredential(k.Plaintext),
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	return b, nil
}

func (b *bench) close() {
	if b.stop != nil {
		b.stop()
	}
	if b.rdb != nil {
		_ = b.rdb.FlushDB(context.Background()).Err()
		_ = b.rdb.Close()
	}
	b.scratch.close()
}

// preferAsync is the bench's one request option, made once.
var preferAsync = []client.RequestOption{client.PreferAsync()}

// post sends one JSON POST (the client gives it a fresh Idempotency-Key)
// and returns the status, whatever it is: fire judges it.
func (b *bench) post(ctx context.Context, path string, body []byte, async bool) (int, error) {
	var opts []client.RequestOption
	if async {
		opts = preferAsync
	}
	resp, err := b.api.Do(ctx, http.MethodPost, path, body, io.Discard, opts...)
	if resp != nil {
		return resp.StatusCode, nil
	}
	return 0, err
}

// fire sends n requests from conc clients and returns the elapsed time and
// each request's latency.
func (b *bench) fire(ctx context.Context, n, conc int, want int, body func(i int) (string, []byte)) (time.Duration, []time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sent := progress.New(b.progress, "      POSTs answered", int64(n))
	defer sent.Finish()
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				path, payload := body(i)
				t0 := time.Now()
				code, err := b.post(ctx, path, payload, true)
				lat[i] = time.Since(t0)
				sent.Add(1)
				if err == nil && code != want {
					err = fmt.Errorf("POST %s: status %d, want %d", path, code, want)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), lat, firstErr
}

func (b *bench) intents(ctx context.Context, run, phase, n, conc int) (time.Duration, error) {
	elapsed, _, err := b.fire(ctx, n, conc, http.StatusCreated, func(i int) (string, []byte) {
		return "/v1/payment-intents", fmt.Appendf(nil, `{"externalReference":"r%d-%d-%d","sourceAmount":"%d.%02d","sourceCurrency":"USD","paymentType":"other","beneficiaryName":"Beneficiary %d"}`,
			run, phase, i, 10+i%5000, i%100, i)
	})
	return elapsed, err
}

func evidenceBody(run, phase, i int) (string, []byte) {
	return "/v1/evidence/provider", fmt.Appendf(nil, `{"provider":"acmepay","providerTransferId":"tr_%d_%d_%d","status":"completed","amount":{"amount":"%d.%02d","currency":"USD"},"externalReference":"r%d-%d-%d","references":[{"type":"invoice","value":"INV-%d-%d-%d"}]}`,
		run, phase, i, 10+i%5000, i%100, run, phase, i, run, phase, i)
}

// matched reads how many evidence records the worker has placed so far.
func (b *bench) matched() (float64, error) {
	families, err := b.reg.Gatherer().Gather()
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() == "reconlayer_match_outcomes_total" {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total, nil
}

func (b *bench) waitMatched(ctx context.Context, target float64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	from, err := b.matched()
	if err != nil {
		return err
	}
	placed := progress.New(b.progress, "      matched", int64(target-from))
	defer placed.Finish()
	for {
		got, err := b.matched()
		if err != nil {
			return err
		}
		placed.Set(int64(got - from))
		if got >= target {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %.0f of %.0f evidence records matched within %s", got, target, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (b *bench) startWorker() func() {
	ctx, cancel := context.WithCancel(context.Background())
	w := worker.New(worker.Config{Concurrency: b.workers, ShutdownTimeout: 10 * time.Second},
		worker.Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Pool: b.pool, Redis: b.rdb, Metrics: b.reg})
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func percentile(lat []time.Duration, p float64) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*p)]) / float64(time.Millisecond)
}

func (b *bench) run(ctx context.Context, run, n, conc int) (benchRun, error) {
	var r benchRun
	// Intents for both phases first: they are not what is measured next.
	elapsed, err := b.intents(ctx, run, 1, n, conc)
	if err != nil {
		return r, err
	}
	r.IntentsPerSec = float64(n) / elapsed.Seconds()
	if _, err := b.intents(ctx, run, 2, n, conc); err != nil {
		return r, err
	}
	before, err := b.matched()
	if err != nil {
		return r, err
	}

	elapsed, lat, err := b.fire(ctx, n, conc, http.StatusAccepted, func(i int) (string, []byte) { return evidenceBody(run, 1, i) })
	if err != nil {
		return r, err
	}
	r.AcceptPerSec, r.AcceptP50, r.AcceptP99 = float64(n)/elapsed.Seconds(), percentile(lat, .5), percentile(lat, .99)

	start := time.Now()
	stopWorker := b.startWorker()
	defer stopWorker()
	if err := b.waitMatched(ctx, before+float64(n), 10*time.Minute); err != nil {
		return r, err
	}
	r.DrainPerSec = float64(n) / time.Since(start).Seconds()

	start = time.Now()
	elapsed, lat, err = b.fire(ctx, n, conc, http.StatusAccepted, func(i int) (string, []byte) { return evidenceBody(run, 2, i) })
	if err != nil {
		return r, err
	}
	r.E2EAcceptPerSec, r.E2EP99 = float64(n)/elapsed.Seconds(), percentile(lat, .99)
	if err := b.waitMatched(ctx, before+2*float64(n), 10*time.Minute); err != nil {
		return r, err
	}
	r.E2EPerSec = float64(n) / time.Since(start).Seconds()
	return r, nil
}
