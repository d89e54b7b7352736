package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real reconlayer binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "reconlayer-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "reconlayer")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// command prepares the binary with a clean environment plus env.
func command(t *testing.T, env map[string]string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestAllServesHealthReadyAndMetrics starts `all` on an empty database: it
// must migrate, answer /health, /ready and /metrics, and stop cleanly on SIGTERM.
func TestAllServesHealthReadyAndMetrics(t *testing.T) {
	t.Parallel()
	_, redisURL := dbtest.Redis(t)
	addr := freeAddr(t)
	cmd, _, stderr := command(t, map[string]string{
		"DATABASE_URL":            dbtest.EmptyDatabaseURL(t),
		"REDIS_URL":               redisURL,
		"RECONLAYER_HTTP_ADDR":    addr,
		"RECONLAYER_METRICS_ADDR": "off",
	}, "all")
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("reconlayer all exited early: %v\n%s", err, stderr)
		default:
		}
		require.True(t, time.Now().Before(deadline), "not ready within 30s:\n%s", stderr)
		time.Sleep(100 * time.Millisecond)
	}

	code, body := get(t, base+"/health")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	code, body = get(t, base+"/ready")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ready","checks":{"postgres":"ok","redis":"ok"}}`, body)

	code, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "reconlayer_build_info{")
	require.Contains(t, body, `reconlayer_http_requests_total{method="GET",route="/ready",status_class="2xx"}`)
	require.Contains(t, body, "go_goroutines")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "SIGTERM must end the process with status 0\n%s", stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of SIGTERM\n%s", stderr)
	}

	// Every line the process logged is JSON (log/slog).
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		require.True(t, json.Valid([]byte(line)), "log line is not JSON: %s", line)
	}
	require.Contains(t, stderr.String(), `"msg":"migrations applied"`)
}

// TestUnmigratedDatabaseIsRefused: api, worker and scheduler never run
// against a schema they do not know.
func TestUnmigratedDatabaseIsRefused(t *testing.T) {
	t.Parallel()
	_, redisURL := dbtest.Redis(t)
	dbURL := dbtest.EmptyDatabaseURL(t)
	for _, mode := range []string{"api", "worker", "scheduler"} {
		t.Run(mode, func(t *testing.T) {
			cmd, _, stderr := command(t, map[string]string{
				"DATABASE_URL": dbURL, "REDIS_URL": redisURL,
				"RECONLAYER_HTTP_ADDR": freeAddr(t), "RECONLAYER_METRICS_ADDR": "off",
			}, mode)
			err := cmd.Run()
			require.Equal(t, 1, exitCode(err), stderr.String())
			require.Contains(t, stderr.String(), "reconlayer migrate up")
		})
	}
}

// TestBadConfigExitsWithOneLine: a bad or unreachable setting makes the binary
// exit non-zero with one line that names the variable — never a panic.
func TestBadConfigExitsWithOneLine(t *testing.T) {
	t.Parallel()
	_, redisURL := dbtest.Redis(t)
	dbURL := dbtest.DatabaseURL(t)
	good := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off"}
	for _, tc := range []struct {
		name  string
		set   map[string]string
		names string
	}{
		{"unreachable database", map[string]string{"DATABASE_URL": "postgres://reconlayer:hunter2@127.0.0.1:1/reconlayer?sslmode=disable"}, "DATABASE_URL"},
		{"database URL with wrong scheme", map[string]string{"DATABASE_URL": "mysql://root@127.0.0.1/recon"}, "DATABASE_URL"},
		{"database URL that does not parse", map[string]string{"DATABASE_URL": "postgres://%zz"}, "DATABASE_URL"},
		{"unreachable redis", map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL"},
		{"redis URL with wrong scheme", map[string]string{"REDIS_URL": "memcached://127.0.0.1:11211"}, "REDIS_URL"},
		{"bad listen address", map[string]string{"RECONLAYER_HTTP_ADDR": "not-an-address"}, "RECONLAYER_HTTP_ADDR"},
		{"bad concurrency", map[string]string{"RECONLAYER_WORKER_CONCURRENCY": "lots"}, "RECONLAYER_WORKER_CONCURRENCY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"RECONLAYER_HTTP_ADDR": freeAddr(t)}
			for k, v := range good {
				env[k] = v
			}
			for k, v := range tc.set {
				env[k] = v
			}
			cmd, stdout, stderr := command(t, env, "all")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
			err := cmd.Run()
			require.Equal(t, 1, exitCode(err), "stderr: %s", stderr)
			out := strings.TrimSpace(stderr.String())
			require.NotContains(t, out, "\n", "exactly one line")
			require.True(t, strings.HasPrefix(out, "reconlayer: "+tc.names+": "), out)
			require.NotContains(t, out, "panic")
			require.NotContains(t, out, "hunter2", "passwords are never printed")
			require.Empty(t, stdout.String())
		})
	}
}

func TestPortInUseNamesTheVariable(t *testing.T) {
	t.Parallel()
	_, redisURL := dbtest.Redis(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cmd, _, stderr := command(t, map[string]string{
		"DATABASE_URL": dbtest.DatabaseURL(t), "REDIS_URL": redisURL,
		"RECONLAYER_HTTP_ADDR": ln.Addr().String(), "RECONLAYER_METRICS_ADDR": "off",
	}, "api")
	require.Equal(t, 1, exitCode(cmd.Run()))
	require.True(t, strings.HasPrefix(stderr.String(), "reconlayer: RECONLAYER_HTTP_ADDR: "), stderr.String())
}

func TestMigrateUpStatusDown(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": dbtest.EmptyDatabaseURL(t)}
	runJSON := func(args ...string) map[string]any {
		t.Helper()
		cmd, stdout, stderr := command(t, env, args...)
		require.NoError(t, cmd.Run(), stderr.String())
		var out map[string]any
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), stdout.String())
		return out
	}
	status := func() (applied, total int) {
		for _, m := range runJSON("migrate", "status")["migrations"].([]any) {
			total++
			if m.(map[string]any)["applied"].(bool) {
				applied++
			}
		}
		return
	}

	a, total := status()
	require.Zero(t, a)
	require.Positive(t, total)

	up := runJSON("migrate", "up")["applied"].([]any)
	require.Len(t, up, total)
	a, _ = status()
	require.Equal(t, total, a)
	require.Empty(t, runJSON("migrate", "up")["applied"], "up twice applies nothing the second time")

	// Every down migration works: roll all the way back, then forward again.
	for i := total; i > 0; i-- {
		require.NotZero(t, runJSON("migrate", "down")["rolledBack"])
	}
	a, _ = status()
	require.Zero(t, a)
	require.Len(t, runJSON("migrate", "up")["applied"].([]any), total)

	cmd, _, stderr := command(t, env, "migrate", "sideways")
	require.Equal(t, 2, exitCode(cmd.Run()))
	require.Contains(t, stderr.String(), "usage: reconlayer migrate up|down|status")
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	cmd, stdout, _ := command(t, nil, "version")
	require.NoError(t, cmd.Run())
	var v map[string]string
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &v))
	require.NotEmpty(t, v["version"])
	require.NotEmpty(t, v["goVersion"])

	cmd, _, stderr := command(t, nil, "frobnicate")
	require.Equal(t, 2, exitCode(cmd.Run()))
	require.Contains(t, stderr.String(), `unknown command "frobnicate"`)
}
