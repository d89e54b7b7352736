package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/reconlayer/reconlayer/api"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/logging"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/migrate"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/worker"
)

// serve runs the api, the worker, the scheduler, or all three ("all").
func serve(ctx context.Context, mode string, stderr io.Writer) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	logger := logging.New(stderr, cfg.LogLevel).With("process", mode)
	slog.SetDefault(logger)

	pool, rdb, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	defer rdb.Close()

	if err := ensureSchema(ctx, pool, logger, mode == "all"); err != nil {
		return err
	}

	reg := metrics.New()
	reg.WatchPool(pool)
	// Every process reports the queues (cached: one Redis reading per TTL
	// whatever the scrape rate), so any one of them shows the backlog.
	reg.WatchQueues(asynq.NewInspectorFromRedisClient(rdb), metrics.DefaultQueueTTL)
	runAPI := mode == "api" || mode == "all"
	runWorker := mode == "worker" || mode == "all"
	runScheduler := mode == "scheduler" || mode == "all"

	// Listen before starting anything so that a taken port fails the start.
	var apiLn, metricsLn net.Listener
	if runAPI {
		if apiLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return &config.Error{Var: "RECONLAYER_HTTP_ADDR", Msg: err.Error()}
		}
	} else if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return &config.Error{Var: "RECONLAYER_METRICS_ADDR", Msg: err.Error()}
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	if runAPI {
		opts, err := apiOptions(gctx, cfg)
		if err != nil {
			return err
		}
		opts.Usage = auth.NewUsageRecorder(db.New(pool), 10*time.Second)
		g.Go(func() error { opts.Usage.Run(gctx); return nil })
		waiter := tasks.NewWaiter(rdb, logger)
		g.Go(func() error { waiter.Run(gctx); return nil })
		router := api.NewRouter(api.Deps{Logger: logger, Pool: pool, Redis: rdb, Metrics: reg, Waiter: waiter, Options: opts})
		g.Go(func() error { return serveHTTP(gctx, apiLn, router, cfg.ShutdownTimeout, logger) })
		logger.Info("api listening", "addr", apiLn.Addr().String())
	}
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", reg.Handler())
		mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		})
		g.Go(func() error { return serveHTTP(gctx, metricsLn, mux, cfg.ShutdownTimeout, logger) })
		logger.Info("metrics listening", "addr", metricsLn.Addr().String())
	}
	if runWorker {
		hooks := worker.DefaultWebhookConfig()
		hooks.Concurrency, hooks.PerEndpoint = cfg.Webhooks.Concurrency, cfg.Webhooks.PerEndpoint
		hooks.Timeout, hooks.DisableAfter = cfg.Webhooks.Timeout, cfg.Webhooks.DisableAfter
		hooks.Policy = egress.Policy{AllowInsecure: cfg.Webhooks.AllowInsecure, AllowPrivate: cfg.Webhooks.AllowPrivate}
		w := worker.New(worker.Config{Concurrency: cfg.WorkerConcurrency, Queues: cfg.WorkerQueues, ShutdownTimeout: cfg.ShutdownTimeout, Webhooks: hooks},
			worker.Deps{Logger: logger, Pool: pool, Redis: rdb, Metrics: reg})
		g.Go(func() error { return w.Run(gctx) })
	}
	if runScheduler {
		client := asynq.NewClientFromRedisClient(rdb)
		s := worker.NewScheduler(client, logger, worker.PeriodicTasks(cfg.SLAScoreInterval))
		g.Go(func() error { return s.Run(gctx) })
		g.Go(func() error { reg.State.Run(gctx, db.New(pool), cfg.StateGaugeInterval, logger); return nil })
	}
	err = g.Wait()
	logger.Info("stopped")
	return err
}

// apiOptions turns the configuration into the API contract's settings.
func apiOptions(ctx context.Context, cfg config.Config) (api.Options, error) {
	o := api.DefaultOptions()
	o.RateLimitPerMinute = cfg.RateLimitPerMinute
	o.MaxJSONBodyBytes = cfg.MaxJSONBodyBytes
	o.IdempotencyLease = cfg.IdempotencyLease
	o.EvidenceWait = cfg.EvidenceWait
	o.Webhooks = egress.Policy{AllowInsecure: cfg.Webhooks.AllowInsecure, AllowPrivate: cfg.Webhooks.AllowPrivate}
	o.WebhookTimeout = cfg.Webhooks.Timeout
	o.MaxImportBytes = cfg.MaxImportBytes
	o.AdminQueues = cfg.AdminQueues
	o.Console.SecureCookie = cfg.ConsoleSecureCookie
	o.OverloadQueueLatency = cfg.OverloadQueueLatency
	o.Session = auth.SessionConfig{HS256Secret: []byte(cfg.SessionSecret), Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience}
	if cfg.JWKSURL != "" {
		// keyfunc caches the key set and refreshes it in the background.
		k, err := keyfunc.NewDefaultCtx(ctx, []string{cfg.JWKSURL})
		if err != nil {
			return api.Options{}, &config.Error{Var: "RECONLAYER_JWKS_URL", Msg: err.Error()}
		}
		o.Session.JWKS = k
	}
	return o, nil
}

func connect(ctx context.Context, cfg config.Config) (*pgxpool.Pool, *redis.Client, error) {
	pool, err := backend.OpenPostgres(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	rdb, err := backend.OpenRedis(ctx, cfg)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, rdb, nil
}

// ensureSchema migrates (all) or refuses to start on a database that lacks
// migrations (api, worker, scheduler), so that no process runs queries
// against tables that do not exist yet.
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, apply bool) error {
	m, err := migrate.New(pool, logger)
	if err != nil {
		return err
	}
	defer m.Close()
	if apply {
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			logger.Info("migrations applied", "versions", applied)
		}
		return nil
	}
	return m.Check(ctx)
}

// serveHTTP serves until ctx ends, then drains in-flight requests for up to timeout.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration, logger *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}
