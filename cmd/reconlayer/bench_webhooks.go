package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/webhook"
	"github.com/reconlayer/reconlayer/worker"
)

// benchWebhooks runs `reconlayer bench webhooks`: n case events waiting in
// the outbox, a worker started on them, and the time until every delivery
// to a local receiver has succeeded — dispatch (render, fan out, enqueue),
// signing, HTTP and recording every attempt, end to end. Repeated -runs
// times on the same events (deliveries and Redis reset in between).
func benchWebhooks(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench webhooks", flag.ContinueOnError)
	n := fs.Int("n", 10000, "events to deliver (to each endpoint)")
	endpoints := fs.Int("endpoints", 1, "endpoints subscribed to every event")
	runs := fs.Int("runs", 3, "repetitions (medians are reported)")
	conc := fs.Int("concurrency", 50, "webhook sends under way at once (RECONLAYER_WEBHOOK_CONCURRENCY)")
	perEndpoint := fs.Int("per-endpoint", 50, "of which to one endpoint (RECONLAYER_WEBHOOK_ENDPOINT_CONCURRENCY)")
	redisDB := fs.Int("redis-db", 254, "Redis database to use; it is flushed")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs (worker and receiver) to this file")
	keep := fs.Bool("keep-db", false, "keep the scratch database afterwards (to look at plans)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *n < 1 || *endpoints < 1 || *runs < 1 || *conc < 1 || *perEndpoint < 1 {
		return usageError("bench webhooks: -n, -endpoints, -runs, -concurrency and -per-endpoint must be positive")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	s, err := newScratch(ctx, cfg.DatabaseURL, 40)
	if err != nil {
		return err
	}
	s.keep = *keep
	defer s.close()
	rdb, err := scratchRedis(ctx, cfg.RedisURL, *redisDB, 128)
	if err != nil {
		return err
	}
	defer rdb.Close()
	defer rdb.FlushDB(context.Background())

	// The consumer: answers 204 at once, counting what it got.
	var received atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("webhook-signature") != "" {
			received.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	seedStart := time.Now()
	if err := seedSLA(ctx, s.pool, *n); err != nil {
		return err
	}
	var org uuid.UUID
	if err := s.pool.QueryRow(ctx, "SELECT id FROM organizations").Scan(&org); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := webhook.NewService(s.pool, nil, logger)
	for range *endpoints {
		if _, err := svc.Create(ctx, webhook.CreateInput{OrganizationID: org, URL: "http://" + ln.Addr().String() + "/hooks",
			SubscribedEvents: []string{webhook.AllEvents}}, nil); err != nil {
			return err
		}
	}
	if _, err := s.pool.Exec(ctx, `
INSERT INTO event_outbox (organization_id, event_type, case_id, sequence, data)
SELECT organization_id, 'reconciliation_case.updated', id, version, '{}' FROM reconciliation_cases`); err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	fmt.Fprintf(stdout, "seeded %d case events, %d endpoint(s) in %.1f s (not measured)\n", *n, *endpoints, time.Since(seedStart).Seconds())

	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	want := int64(*n * *endpoints)
	hooks := worker.DefaultWebhookConfig()
	hooks.Concurrency, hooks.PerEndpoint = *conc, *perEndpoint
	hooks.Policy = egress.Policy{AllowPrivate: true, AllowInsecure: true}
	type result struct{ dispatch, total float64 }
	var results []result
	for i := range *runs {
		if err := resetWebhooks(ctx, s, rdb); err != nil {
			return err
		}
		received.Store(0)
		wctx, stop := context.WithCancel(context.Background())
		w := worker.New(worker.Config{Concurrency: 4, ShutdownTimeout: 10 * time.Second, Webhooks: hooks},
			worker.Deps{Logger: logger, Pool: s.pool, Redis: rdb, Metrics: metrics.New()})
		done := make(chan struct{})
		start := time.Now()
		go func() { _ = w.Run(wctx); close(done) }()
		var dispatched time.Duration
		err := func() error {
			deadline := time.Now().Add(10 * time.Minute)
			for time.Now().Before(deadline) {
				if dispatched == 0 {
					var pending int
					if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM event_outbox WHERE dispatched_at IS NULL").Scan(&pending); err != nil {
						return err
					}
					if pending == 0 {
						dispatched = time.Since(start)
					}
				}
				if received.Load() >= want {
					var open int
					if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'").Scan(&open); err != nil {
						return err
					}
					if open == 0 && dispatched > 0 {
						return nil
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			return errors.New("bench webhooks: deliveries not done within 10 minutes")
		}()
		total := time.Since(start)
		stop()
		<-done
		if err != nil {
			return err
		}
		if got := received.Load(); got != want {
			return fmt.Errorf("bench webhooks: run %d: the receiver got %d requests, want %d (each exactly once)", i+1, got, want)
		}
		r := result{dispatch: dispatched.Seconds(), total: total.Seconds()}
		results = append(results, r)
		fmt.Fprintf(stdout, "run %d: %d deliveries in %.2f s = %.0f deliveries/s (all events dispatched after %.2f s)\n",
			i+1, want, r.total, float64(want)/r.total, r.dispatch)
	}
	secs := median(results, func(r result) float64 { return r.total })
	fmt.Fprintf(stdout, "\nmedian of %d runs, %d events x %d endpoint(s), concurrency %d (%d per endpoint), GOMAXPROCS %d, %s:\n",
		len(results), *n, *endpoints, *conc, *perEndpoint, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "  delivered end to end  %9.0f deliveries/s %7.2f s   (dispatch done after %.2f s)\n",
		float64(want)/secs, secs, median(results, func(r result) float64 { return r.dispatch }))
	return nil
}

// resetWebhooks makes the events undelivered again and empties the queue.
func resetWebhooks(ctx context.Context, s *scratch, rdb *redis.Client) error {
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `
TRUNCATE webhook_attempts, webhook_deliveries;
UPDATE event_outbox SET dispatched_at = NULL, payload = NULL;
UPDATE webhook_endpoints SET failing_since = NULL`); err != nil {
		return fmt.Errorf("reset deliveries: %w", err)
	}
	_, err := s.pool.Exec(ctx, "VACUUM ANALYZE event_outbox, webhook_deliveries, webhook_attempts")
	return err
}
