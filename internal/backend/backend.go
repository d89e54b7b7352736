// Package backend opens the two stateful services every process needs — the
// Postgres pool (source of truth) and the Redis client (work queue) — and turns
// their failures into one clear line naming the variable to fix.
package backend

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/config"
)

// connectTimeout bounds each startup ping so that a wrong address fails fast
// instead of hanging the process.
const connectTimeout = 5 * time.Second

// OpenPostgres connects and pings, so that a bad DATABASE_URL fails at startup.
func OpenPostgres(ctx context.Context, cfg config.Config) (*pgxpool.Pool, error) {
	pcfg, err := PoolConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, &config.Error{Var: "DATABASE_URL", Msg: "cannot parse: " + firstLine(err)}
	}
	pcfg.MaxConns = cfg.DatabaseMaxConns
	pcfg.ConnConfig.ConnectTimeout = connectTimeout
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, &config.Error{Var: "DATABASE_URL", Msg: firstLine(err)}
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, &config.Error{Var: "DATABASE_URL", Msg: fmt.Sprintf("cannot reach postgres at %s: %s",
			config.Redacted(cfg.DatabaseURL), firstLine(err))}
	}
	return pool, nil
}

// redisLogger sends go-redis's own diagnostics to slog at debug level: its
// default logger writes free text to stderr, which breaks the JSON log and the
// one-line startup error.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

func init() { redis.SetLogger(redisLogger{}) }

// OpenRedis connects and pings, so that a bad REDIS_URL fails at startup.
func OpenRedis(ctx context.Context, cfg config.Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, &config.Error{Var: "REDIS_URL", Msg: "cannot parse: " + firstLine(err)}
	}
	opts.DialTimeout = connectTimeout
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, &config.Error{Var: "REDIS_URL", Msg: fmt.Sprintf("cannot reach redis at %s: %s",
			config.Redacted(cfg.RedisURL), firstLine(err))}
	}
	return rdb, nil
}

// firstLine keeps an error to one line: driver errors sometimes span several.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
