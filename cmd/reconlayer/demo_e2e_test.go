package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// TestDemoShowsReconciledAndExceptionCases is the README's first minutes:
// `reconlayer all` on an empty database, then `reconlayer demo` against it,
// exactly as a new user runs them (the demo makes its own organization and
// key). Every case must end as the demo says it shows, with the late payout
// flagged, and the summary must print the curl lines to explore them. Then
// `reconlayer import` with the demo's key, as the README shows it.
func TestDemoShowsReconciledAndExceptionCases(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.EmptyDatabaseURL(t)
	_, redisURL := dbtest.Redis(t)
	env := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off"}
	_, base := e2eStartServing(t, "all", env, "all")

	start := time.Now()
	cmd, stdout, stderr := command(t, env, "demo", "--url", base)
	require.NoError(t, cmd.Run(), "demo failed:\n%s\n%s", stderr, stdout)
	t.Logf("demo took %s", time.Since(start).Round(time.Second))
	out := stdout.String()

	// Each case line: id, verdict, reconciliation status, exception,
	// unexplained delta, then what the demo meant it to show.
	line := regexp.MustCompile(`(?m)^  [0-9a-f-]{36}  +(\S+(?: yet\))?) +(\S+) +(\S+) +(\S+) +(.+)$`)
	got := map[string][3]string{}
	section := out[strings.Index(out, "Each case, and what it shows"):strings.Index(out, "Statement import ")]
	for _, m := range line.FindAllStringSubmatch(section, -1) {
		got[strings.SplitN(m[5], ":", 2)[0]] = [3]string{m[1], m[2], m[3]}
	}
	require.Equal(t, map[string][3]string{
		"matched":                {"matched", "reconciled", "-"},
		"fees and FX explained":  {"matched_with_exception", "reconciled", "fee_out_of_tolerance"},
		"FX explained":           {"matched_with_exception", "reconciled", "fx_variance"},
		"tentatively reconciled": {"matched", "tentatively_reconciled", "-"},
		"missing leg":            {"unreconciled", "unreconciled", "missing_leg"},
		"amount mismatch":        {"needs_review", "unreconciled", "amount_mismatch"},
		"currency mismatch":      {"needs_review", "unreconciled", "currency_mismatch"},
		"failed":                 {"unreconciled", "unreconciled", "-"},
		"no evidence yet":        {"(none yet)", "unreconciled", "-"},
		"bank payout settled":    {"matched", "reconciled", "-"},
		"bank payout short":      {"needs_review", "unreconciled", "amount_mismatch"},
		"late":                   {"sla_risk", "unreconciled", "timing_delay"},
	}, got, out)

	require.Regexp(t, `completed, 5 rows \(5 valid, 2 matched to a payment\)`, out)
	require.Regexp(t, `Ledger run \S+: completed, 4 matched, 3 discrepancies`, out)
	for _, d := range []string{"missing_in_ledger", "missing_in_statement", "balance_mismatch"} {
		require.Contains(t, out, "  "+d+" ")
	}
	require.Regexp(t, `(?m)^  \S+  reconciled +Globex invoice INV-2026-0042$`, out)
	require.Regexp(t, `(?m)^  \S+  reconciled +Initech support plan`, out)
	require.Regexp(t, `(?m)^  \S+  tentatively_reconciled +Hooli refund`, out)
	// Overdue once the scheduler's minutely sweep has seen it.
	require.Regexp(t, `(?m)^  \S+  unreconciled(?: \(overdue\))? +Umbrella Corp retainer`, out)
	require.Regexp(t, `export KEY=rl_live_\S{43}\n`, out)
	require.Contains(t, out, "curl -s "+base+"/v1/reconciliation-cases/")

	// Progress goes to stderr, one step per line when not on a terminal.
	for i := 1; i <= 8; i++ {
		require.Regexp(t, regexp.MustCompile(`(?m)^\[`+string(rune('0'+i))+`/8\] `), stderr.String())
	}
	require.NotContains(t, stderr.String(), "\r", "no terminal redraws in a log")

	// `reconlayer import` with the demo's key: a real bank file is followed
	// to completion, a broken one fails with its parser error.
	key := regexp.MustCompile(`export KEY=(\S+)`).FindStringSubmatch(out)[1]
	fixtures := "../../../shared/fixtures/statements/"
	cmd, stdout, stderr = command(t, env, "import", "--url", base, "--key", key, "--file", fixtures+"camt053/camt_parser__valid_example_v4.xml")
	require.NoError(t, cmd.Run(), "import failed:\n%s", stderr)
	var batch struct {
		Status string `json:"status"`
		Format string `json:"format"`
		Counts struct{ Total, Valid int }
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &batch), stdout.String())
	require.Equal(t, "completed", batch.Status)
	require.Equal(t, "camt.053", batch.Format)
	require.Equal(t, 32, batch.Counts.Total)
	require.Equal(t, 32, batch.Counts.Valid)
	require.Regexp(t, `(?m)^rows parsed: 32 .* in `, stderr.String())

	cmd, _, stderr = command(t, env, "import", "--url", base, "--key", key, "--file", fixtures+"camt053/genkgo-camt__camt053.v2.wrong.xml")
	err := cmd.Run()
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, stderr.String(), "failed: line 8 (Document/BkToCstmrStmt): no statement found")

	cmd, _, stderr = command(t, env, "import", "--url", base, "--file", fixtures+"camt053/genkgo-camt__camt053.v2.wrong.xml")
	require.Equal(t, 2, exitCode(cmd.Run()), "no key is a usage error")
	require.Contains(t, stderr.String(), "import needs an API key")
}
