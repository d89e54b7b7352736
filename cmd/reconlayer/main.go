// Command reconlayer is the single ReconLayer binary: api, worker, scheduler,
// all (the three in one process), migrate, admin, demo, import, bench and version.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/reconlayer/reconlayer/internal/buildinfo"
)

const usage = `usage: reconlayer <command> [arguments]

commands:
  all                     api + worker + scheduler in one process (migrates first)
  api                     the HTTP API on RECONLAYER_HTTP_ADDR (default :3001)
  worker                  asynq task handlers
  scheduler               enqueues periodic tasks (run one; duplicates collapse)
  migrate up|down|status  apply, roll back one, or list database migrations
  admin <command>         bootstrap orgs, API keys, session tokens, rate limits, console users (JSON out)
  demo [--url URL]        a guided tour against a running service: intents, evidence, imports, runs, expected payments
  import --file PATH      upload a file (CSV, camt.05x, BAI2, MT940) as an import batch and follow it
  bench <name>            measure on this machine (scratch database): evidence, sla, imports, webhooks, runs, expected
  version                 print the build as JSON

configuration (environment):
  DATABASE_URL                   postgres URL (default postgres://reconlayer:reconlayer@127.0.0.1:5432/reconlayer?sslmode=disable)
  REDIS_URL                      redis URL (default redis://127.0.0.1:6379/0)
  RECONLAYER_HTTP_ADDR           api listen address (default :3001)
  RECONLAYER_METRICS_ADDR        worker/scheduler /metrics address (default :3002, "off" disables)
  RECONLAYER_WORKER_CONCURRENCY  tasks run at once per worker process (default 64)
  RECONLAYER_SHUTDOWN_TIMEOUT    drain time on SIGTERM (default 30s)
  RECONLAYER_LOG_LEVEL           debug|info|warn|error (default info)
  RECONLAYER_DATABASE_MAX_CONNS  postgres pool size per process (default 20)
  RECONLAYER_SESSION_SECRET      HS256 secret for dashboard session tokens (>= 32 bytes)
  RECONLAYER_JWKS_URL            JWKS of the identity provider issuing session tokens
  RECONLAYER_JWT_ISSUER          required "iss" of session tokens, when set
  RECONLAYER_JWT_AUDIENCE        required "aud" of session tokens, when set
  RECONLAYER_RATE_LIMIT_PER_MINUTE  default requests per minute per organization (default 300)
  RECONLAYER_MAX_JSON_BODY_BYTES default JSON body limit (default 1048576)
  RECONLAYER_IDEMPOTENCY_LEASE   how long a crashed request blocks its Idempotency-Key (default 60s)
  RECONLAYER_EVIDENCE_WAIT       how long evidence POSTs wait for the matcher (default 2s; 0s answers 202)
  RECONLAYER_WORKER_QUEUES       queues a worker serves, with weights (default critical=6,default=3,low=1)
  RECONLAYER_SLA_SCORE_INTERVAL  how often the scheduler has SLA risk scored (default 1m)
  RECONLAYER_CONSOLE_SECURE_COOKIE  web console cookies Secure on plain HTTP too, behind a TLS proxy (default false)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the process exit code: 0 success,
// 1 failure (one line on stderr), 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd := args[0]; cmd {
	case "api", "worker", "scheduler", "all":
		err = serve(ctx, cmd, stderr)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout)
	case "admin":
		err = adminCmd(ctx, args[1:], os.Stdin, stdout, stderr)
	case "demo":
		err = demoCmd(ctx, args[1:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout)
	case "version":
		err = json.NewEncoder(stdout).Encode(buildinfo.Get())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "reconlayer: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if u, ok := err.(usageError); ok {
			fmt.Fprintf(stderr, "reconlayer: %s\n", string(u))
			return 2
		}
		fmt.Fprintf(stderr, "reconlayer: %s\n", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line (exit 2).
type usageError string

func (u usageError) Error() string { return string(u) }
