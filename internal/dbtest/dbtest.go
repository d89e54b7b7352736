// Package dbtest gives tests real, isolated backing services: a fresh
// Postgres database per test (cloned from a migrated template, which is fast)
// and a Redis database of its own per test. The services come from
// `make services` (deploy/local/services.sh); a test that cannot reach them
// fails with that hint rather than skipping.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/migrate"
	"github.com/reconlayer/reconlayer/migrations"
)

const hint = "start the local services with `make services` (or set DATABASE_URL / REDIS_URL)"

func baseDatabaseURL() string {
	if v := os.Getenv("DATABASE_URL"); v != "" {
		return v
	}
	return config.DefaultDatabaseURL
}

func baseRedisURL() string {
	if v := os.Getenv("REDIS_URL"); v != "" {
		return v
	}
	return config.DefaultRedisURL
}

// withDatabase returns rawURL pointing at database name instead.
func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(fmt.Sprintf("dbtest: DATABASE_URL does not parse: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// migrationsHash names the template after the migrations it holds, so a
// changed migration gets a new template instead of a stale one.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

// ensureTemplate builds the migrated template database once per cluster and
// migration set. Test binaries of several packages run at once, so the build
// is serialized by an advisory lock and published by an atomic rename.
func ensureTemplate(ctx context.Context) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "reconlayer_tpl_" + hash
	admin, err := pgx.Connect(ctx, baseDatabaseURL())
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w; %s", config.Redacted(baseDatabaseURL()), err, hint)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext('reconlayer_dbtest_template'))"); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext('reconlayer_dbtest_template'))") //nolint:errcheck

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Templates of older migration sets and half-built ones are garbage now.
	rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'reconlayer\\_tpl\\_%'")
	if err != nil {
		return "", err
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, s := range stale {
		_, _ = admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{s}.Sanitize()+" IS_TEMPLATE false")
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s}.Sanitize()+" WITH (FORCE)")
	}

	building := name + "_building"
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := migrateDatabase(ctx, withDatabase(baseDatabaseURL(), building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

func migrateDatabase(ctx context.Context, dbURL string) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := migrate.New(pool, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.Up(ctx)
	return err
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createDatabase makes a database (from template when not empty) that is
// dropped when the test ends, and returns its URL.
func createDatabase(t testing.TB, template string) string {
	t.Helper()
	ctx := context.Background()
	name := "reconlayer_test_" + randomSuffix()
	admin, err := pgx.Connect(ctx, baseDatabaseURL())
	if err != nil {
		t.Fatalf("dbtest: connect to %s: %v; %s", config.Redacted(baseDatabaseURL()), err, hint)
	}
	defer admin.Close(ctx)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := admin.Exec(ctx, stmt); err != nil {
		t.Fatalf("dbtest: %s: %v", stmt, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, baseDatabaseURL())
		if err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if err := dropDatabase(ctx, c, name); err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(baseDatabaseURL(), name)
}

// dropDatabase drops a test database. A plain DROP ends autovacuum workers
// by itself, which WITH (FORCE) cannot do for a role without superuser or
// pg_signal_backend (SQLSTATE 42501); FORCE is the fallback for sessions a
// test left open (55006). Both are retried briefly: an autovacuum worker
// can start between attempts.
func dropDatabase(ctx context.Context, c *pgx.Conn, name string) error {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		stmt := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize()
		if attempt%2 == 1 {
			stmt += " WITH (FORCE)"
		}
		if _, err = c.Exec(ctx, stmt); err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "55006" && pgErr.Code != "42501") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}

// DatabaseURL returns the URL of a fresh database migrated to the latest
// schema, dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	templateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		templateName, templateErr = ensureTemplate(ctx)
	})
	if templateErr != nil {
		t.Fatalf("dbtest: template database: %v", templateErr)
	}
	return createDatabase(t, templateName)
}

// EmptyDatabaseURL returns the URL of a fresh database with no schema at all,
// for tests of migration and of refusing to start unmigrated.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	return createDatabase(t, "")
}

// Postgres returns a pool on a fresh migrated database, closed when the test ends.
func Postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pcfg, err := backend.PoolConfig(DatabaseURL(t))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Redis returns a client and URL on a Redis database that no other test holds
// while this one runs, flushed before and after. Database 0 is left to the
// developer's own `make run`; the rest are leased with a lock key in it.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	ctx := context.Background()
	base, err := redis.ParseURL(baseRedisURL())
	if err != nil {
		t.Fatalf("dbtest: REDIS_URL: %v", err)
	}
	ctl := redis.NewClient(base)
	defer ctl.Close()
	n := 16
	if v, err := ctl.ConfigGet(ctx, "databases").Result(); err == nil {
		if c, err := strconv.Atoi(v["databases"]); err == nil {
			n = c
		}
	} else if err := ctl.Ping(ctx).Err(); err != nil {
		t.Fatalf("dbtest: redis at %s: %v; %s", baseRedisURL(), err, hint)
	}
	token := randomSuffix()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for i := 1; i < n; i++ {
			lock := "reconlayer:dbtest:lease:" + strconv.Itoa(i)
			ok, err := ctl.SetNX(ctx, lock, token, 30*time.Minute).Result()
			if err != nil {
				t.Fatalf("dbtest: redis lease: %v", err)
			}
			if !ok {
				continue
			}
			opts := *base
			opts.DB = i
			rdb := redis.NewClient(&opts)
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("dbtest: flush redis db %d: %v", i, err)
			}
			t.Cleanup(func() {
				_ = rdb.FlushDB(context.Background()).Err()
				_ = rdb.Close()
				c := redis.NewClient(base)
				defer c.Close()
				if v, _ := c.Get(context.Background(), lock).Result(); v == token {
					c.Del(context.Background(), lock)
				}
			})
			u, _ := url.Parse(baseRedisURL())
			u.Path = "/" + strconv.Itoa(i)
			return rdb, u.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: all %d redis databases are leased; raise `databases` in redis.conf", n-1)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
